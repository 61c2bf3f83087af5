import type { TranscribeOptions } from '../types.js';

/** PCM sample rate everything in the streaming pipeline runs at. */
export const SAMPLE_RATE = 16000;

export const samplesToMs = (samples: number): number => Math.round((samples * 1000) / SAMPLE_RATE);
export const msToSamples = (ms: number): number => Math.round((ms * SAMPLE_RATE) / 1000);

/** One transcription handed to whoever runs the model (a worker pool in the server). */
export interface TranscriptionTask {
  /** Partials re-read a running utterance; finals settle one (and may be sent to another server). */
  kind: 'partial' | 'final';
  /** Owned by the task: the runner may transfer its buffer to another thread. */
  pcm: Int16Array;
  options: TranscribeOptions;
}

/** The parts of a transcription result that the streaming filters need; small enough to post between threads. */
export interface TranscriptionOutcome {
  text: string;
  language: string;
  segments: OutcomeSegment[];
  timings: { encodeMs: number; decodeMs: number; totalMs: number };
}

export interface OutcomeSegment {
  text: string;
  startMs: number;
  endMs: number;
  noSpeechProb: number;
  /** Mean natural-log probability of the segment's text tokens; 0 when it has none. */
  avgLogProb: number;
}

export interface TranscriptionRunner {
  /** `signal` aborts the task, even mid-inference; the promise may then resolve or reject, either way unused. */
  transcribe(task: TranscriptionTask, signal: AbortSignal): Promise<TranscriptionOutcome>;
}

/**
 * `adaptive`: partials only while the VAD hears speech, over the current utterance, with the encoder context sized to
 * it. `naive`: what most Whisper streamers do, kept as a benchmark baseline: every partial interval, speech or not,
 * re-transcribe a fixed trailing window with the full 30 s context (finals keep the VAD's end points but also use the
 * full context).
 */
export type StreamStrategy = 'adaptive' | 'naive';

/** Tuning for one stream session; the server fills it from its configuration. */
export interface StreamSettings {
  strategy: StreamStrategy;
  /** False sends finals only: no model is at hand to run partials (finals go to a remote server). */
  partials: boolean;
  /** Audio time between partial transcriptions of the running utterance. */
  partialIntervalMs: number;
  /** Silence after speech that ends an utterance. */
  endSilenceMs: number;
  /** Utterances are cut at their quietest point once they reach this length. */
  maxUtteranceMs: number;
  /** CPU threads each transcription uses. */
  threads: number;
  /** Beam width of finals; 1 (greedy) makes finals repeatable run to run, wider ones are slightly more accurate. */
  finalBeamSize: number;
}

export type SessionErrorCode = 'unknown_language' | 'unsupported_language' | 'session_ended' | 'transcription_failed';

/** A problem a session reports to its client; the session keeps working. */
export class SessionError extends Error {
  constructor(
    readonly code: SessionErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SessionError';
  }
}

/** A partial or final transcript of one utterance, in the session's audio time. */
export interface TranscriptEvent {
  text: string;
  isFinal: boolean;
  language: string;
  segmentId: number;
  /** Per session, increasing by one with every transcript. */
  seq: number;
  startMs: number;
  /** For a partial, the newest audio it covers; for a final, the end of the utterance. */
  endMs: number;
}
