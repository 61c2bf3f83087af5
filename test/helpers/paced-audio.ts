/** Sends PCM in chunks at a multiple of real time, as a live source would (paced on the clock, never ahead of it). */
import { setTimeout as sleep } from 'node:timers/promises';

export interface PaceOptions {
  /** Samples per second of `pcm` (all channels together: a stereo 48 kHz stream is 96000). */
  samplesPerS: number;
  chunkMs: number;
  /** 1 is real time. */
  speed: number;
}

export async function sendPaced(pcm: Int16Array, options: PaceOptions, send: (chunk: Buffer) => void): Promise<void> {
  const chunk = Math.round((options.samplesPerS * options.chunkMs) / 1000);
  const started = performance.now();
  for (let at = 0; at < pcm.length; at += chunk) {
    const part = pcm.subarray(at, at + chunk);
    send(Buffer.from(part.buffer, part.byteOffset, part.byteLength));
    const due = started + ((at + chunk) * 1000) / options.samplesPerS / options.speed;
    await sleep(Math.max(0, due - performance.now()));
  }
}

/** Sends encoded audio (`bytesPerS` of it to a second of sound) in chunks at a multiple of real time. */
export async function sendPacedBytes(
  bytes: Uint8Array,
  options: { bytesPerS: number; chunkMs: number; speed: number },
  send: (chunk: Buffer) => void,
): Promise<void> {
  const chunk = Math.max(1, Math.round((options.bytesPerS * options.chunkMs) / 1000));
  const started = performance.now();
  for (let at = 0; at < bytes.length; at += chunk) {
    send(Buffer.from(bytes.subarray(at, at + chunk)));
    const due = started + ((at + chunk) * 1000) / options.bytesPerS / options.speed;
    await sleep(Math.max(0, due - performance.now()));
  }
}
