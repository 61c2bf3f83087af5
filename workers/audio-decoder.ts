/**
 * One worker thread that decodes uploaded audio (decode-task.ts), so large, odd or hostile files never stall the
 * event loop. Each decode has a deadline: a file that takes longer (or whose client leaves) has its thread stopped.
 */
import { Piscina } from 'piscina';
import type { FileLimits } from '../engine/codecs/file-decoder.js';
import type { DecodeRequest, DecodeResult } from './decode-task.js';

/** Longest one file may take to decode; an hour of MP3 takes a few seconds. */
export const DECODE_DEADLINE_MS = 60_000;

export class AudioDecoder {
  private readonly piscina = new Piscina({
    filename: new URL('./decode-task.js', import.meta.url).href,
    minThreads: 1,
    maxThreads: 1,
    idleTimeout: 30_000,
  });

  /** 16 kHz mono PCM of the file, or why not; rejects with an AbortError when `signal` aborts first. */
  async decode(file: Uint8Array, limits: FileLimits, signal: AbortSignal): Promise<DecodeResult> {
    const copy = file.slice();
    const request: DecodeRequest = { file: copy, limits };
    const deadline = AbortSignal.timeout(DECODE_DEADLINE_MS);
    try {
      return (await this.piscina.run(request, {
        name: 'decode',
        transferList: [copy.buffer],
        signal: AbortSignal.any([signal, deadline]),
      })) as DecodeResult;
    } catch (error) {
      if (deadline.aborted && !signal.aborted) {
        return {
          ok: false,
          code: 'bad_audio',
          message: `decoding the file took longer than ${DECODE_DEADLINE_MS / 1000} s`,
        };
      }
      throw error;
    }
  }

  close(): Promise<void> {
    return this.piscina.destroy();
  }
}
