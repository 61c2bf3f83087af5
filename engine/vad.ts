import { native, type NativeVadModel } from './native.js';
import { resolveVadModelPath } from './models/model-path.js';
import type { Pcm, VadParams, VadSegment } from './types.js';

/**
 * Silero VAD (whisper.cpp's ggml port). `push()` is the streaming path: it returns one speech probability per
 * complete 512-sample window (32 ms) and carries the LSTM state and any leftover samples to the next call, so
 * feeding audio in pieces of any size gives exactly the probabilities of one whole-buffer pass.
 */
export class VadModel {
  readonly path: string;
  /** Samples per probability (512 at 16 kHz). */
  readonly windowSize: number;
  private readonly vad: NativeVadModel;

  constructor(path?: string, options: { threads?: number } = {}) {
    this.path = resolveVadModelPath(path);
    this.vad = new native.VadModel(this.path, options);
    this.windowSize = this.vad.windowSize;
  }

  /** Probabilities for each window completed by `audio`; runs on the calling thread (about 0.1 ms a window). */
  push(audio: Pcm): Float32Array {
    return this.vad.push(audio);
  }

  /** Pads the leftover samples (if any) with silence to a last window and returns its probability. */
  flush(): Float32Array {
    return this.vad.flush();
  }

  /** Forgets the LSTM state and leftover samples, e.g. between unrelated streams. */
  reset(): void {
    this.vad.reset();
  }

  /** Whole-buffer probabilities on the thread pool. Resets the streaming state. Bad arguments reject, like failures. */
  async detect(audio: Pcm): Promise<Float32Array> {
    return this.vad.detect(audio);
  }

  /** Whole-buffer speech segments with whisper.cpp's defaults unless overridden. Resets the streaming state. */
  async segments(audio: Pcm, params: VadParams = {}): Promise<VadSegment[]> {
    return this.vad.segments(audio, params);
  }

  free(): void {
    this.vad.free();
  }
}
