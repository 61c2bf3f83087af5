/**
 * A SpeechDetector that runs Silero on the calling thread: for library use and tests; the server runs it on a worker.
 */
import { VadModel } from '../vad.js';
import type { SpeechDetector } from './types.js';

export class LocalSpeechDetector implements SpeechDetector {
  readonly windowSamples: number;
  private readonly vad: VadModel;

  /** `vadModelPath` as VadModel takes it (undefined: the bundled model). */
  constructor(vadModelPath?: string) {
    this.vad = new VadModel(vadModelPath);
    this.windowSamples = this.vad.windowSize;
  }

  push(pcm: Int16Array): Promise<Float32Array> {
    try {
      return Promise.resolve(this.vad.push(pcm));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  flush(): Promise<Float32Array> {
    try {
      return Promise.resolve(this.vad.flush());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  close(): void {
    this.vad.free();
  }
}
