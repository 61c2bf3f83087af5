import { setTimeout as sleep } from 'node:timers/promises';
import type { StreamClient, Transcript } from '../../client/index.js';

const CHUNK = 1600; // 100 ms

/** Feeds `audio` to the client at `speed` x real time; `at` runs once when the given sample offset is reached. */
export async function play(
  client: StreamClient,
  audio: Int16Array,
  speed: number,
  at: Map<number, () => void> = new Map(),
): Promise<void> {
  for (let offset = 0; offset < audio.length; offset += CHUNK) {
    for (const [sample, action] of at) {
      if (offset >= sample) {
        action();
        at.delete(sample);
      }
    }
    client.send(audio.subarray(offset, offset + CHUNK));
    await sleep(100 / speed);
  }
}

/** Every partial and final the client delivers, in order. */
export function collect(client: StreamClient): Transcript[] {
  const seen: Transcript[] = [];
  client.on('partial', (m) => seen.push(m));
  client.on('final', (m) => seen.push(m));
  return seen;
}
