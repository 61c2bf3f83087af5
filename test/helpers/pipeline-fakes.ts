/**
 * Fakes of the session core's injected interfaces: a scripted speech detector and a transcription runner the test
 * drives.
 */
import { setImmediate as turn } from 'node:timers/promises';
import type {
  OutcomeToken,
  SpeechDetector,
  StreamSettings,
  TranscriptionOutcome,
  TranscriptionRunner,
  TranscriptionTask,
} from '../../engine/pipeline/index.js';

export const WINDOW = 512;

/** The server's defaults, greedy finals (the fakes do not search beams). */
export const TEST_SETTINGS: StreamSettings = {
  strategy: 'adaptive',
  partials: true,
  partialIntervalMs: 400,
  endSilenceMs: 400,
  maxSegmentMs: 6000,
  maxUtteranceMs: 15000,
  threads: 1,
  finalBeamSize: 1,
  earlyFinals: true,
  emulatedTokensPerSecond: 0,
};

/** Speech probabilities from a script: `probability(window)` for each whole 512-sample window pushed. */
export class ScriptedDetector implements SpeechDetector {
  readonly windowSamples = WINDOW;
  private samples = 0;
  private windows = 0;
  closed = false;

  constructor(private readonly probability: (window: number) => number) {}

  push(pcm: Int16Array): Promise<Float32Array> {
    this.samples += pcm.length;
    const probs: number[] = [];
    while ((this.windows + 1) * WINDOW <= this.samples) probs.push(this.probability(this.windows++));
    return Promise.resolve(Float32Array.from(probs));
  }

  flush(): Promise<Float32Array> {
    if (this.samples === this.windows * WINDOW) return Promise.resolve(new Float32Array(0));
    this.samples = ++this.windows * WINDOW;
    return Promise.resolve(Float32Array.from([this.probability(this.windows - 1)]));
  }

  close(): void {
    this.closed = true;
  }
}

export interface Call {
  task: TranscriptionTask;
  signal: AbortSignal;
  resolve: (outcome: TranscriptionOutcome) => void;
  reject: (error: Error) => void;
}

/** A runner whose transcriptions finish when the test says so, or at once when aborted, as the real pool's do. */
export class ManualRunner implements TranscriptionRunner {
  readonly calls: Call[] = [];
  private taken = 0;

  transcribe(task: TranscriptionTask, signal: AbortSignal): Promise<TranscriptionOutcome> {
    return new Promise((resolve, reject) => {
      this.calls.push({ task, signal, resolve, reject });
      signal.addEventListener(
        'abort',
        () => reject(Object.assign(new Error('transcription aborted'), { code: 'ABORTED' })),
        { once: true },
      );
    });
  }

  /** The next call not yet taken, once the queue has settled; undefined when there is none. */
  async next(): Promise<Call | undefined> {
    await settle();
    const call = this.calls[this.taken];
    if (call) this.taken++;
    return call;
  }

  /** Calls not yet taken. */
  pending(): Call[] {
    return this.calls.slice(this.taken);
  }
}

/** Lets promise reactions and the scheduler's setImmediate pumps run: no clock involved. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await turn();
}

/**
 * An outcome whose text is `words` joined, one token per word, each token timed (DTW) at the given ms of the task's
 * audio, so a test controls where every word begins.
 */
export function outcome(words: [string, number][], language = 'en'): TranscriptionOutcome {
  const tokens: OutcomeToken[] = words.map(([text, timeMs]) => ({ text: ` ${text}`, p: 0.9, timeMs }));
  const text = words.map(([w]) => w).join(' ');
  return {
    text,
    language,
    segments: [{ text: ` ${text}`, startMs: 0, endMs: 0, noSpeechProb: 0.01, avgLogProb: -0.1, tokens }],
    timings: { encodeMs: 0, decodeMs: 0, totalMs: 0 },
  };
}

/** Silence of `ms` as s16le bytes. */
export const silence = (ms: number): Uint8Array => new Uint8Array(ms * 32);
