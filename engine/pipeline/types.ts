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
  tokens: OutcomeToken[];
}

export interface OutcomeToken {
  text: string;
  /** Probability the decoder gave the token. */
  p: number;
  /** Where the token begins in the task's audio (DTW), when the model times tokens. */
  timeMs?: number;
}

/**
 * Where a session can be restored from, in another process if need be: every final for the audio before
 * `audioSample` has been emitted (or that audio holds no speech), and a session restored here numbers its next
 * segment `nextSegmentId`, its next speech turn `turnId`, and asks the client for its audio from `audioSample` on.
 */
export interface SessionCheckpoint {
  /** Absolute sample position, a whole millisecond. */
  audioSample: number;
  nextSegmentId: number;
  /** The speech turn the audio from `audioSample` on continues (one whose end has not been sent), or the next one. */
  turnId: number;
  /** Transcripts of turn `turnId` were sent already: the restored session must close it with an end-of-speech final. */
  turnSent: boolean;
  /** The text that prompts the next final. */
  previousFinal: string;
  requestedLanguage: string;
  /** The language `auto` settled on, if it has. */
  detectedLanguage: string | null;
  /** The client's vocabulary hint. */
  hint: string;
  endSilenceMs: number | null;
}

/** A word with its place in time and the decoder's confidence in it (the mean probability of its tokens). */
export interface Word {
  text: string;
  startMs: number;
  endMs: number;
  confidence: number;
}

export interface TranscriptionRunner {
  /** `signal` aborts the task, even mid-inference; the promise may then resolve or reject, either way unused. */
  transcribe(task: TranscriptionTask, signal: AbortSignal): Promise<TranscriptionOutcome>;
}

/**
 * Speech probabilities for one stream (Silero VAD, in this process or on a worker thread). `push` reads `pcm` before
 * it returns (the caller may reuse the buffer) and its promises settle in call order.
 */
export interface SpeechDetector {
  /** Samples per probability. */
  readonly windowSamples: number;
  /** Probabilities of the windows this audio completes; leftover samples wait for the next call. */
  push(pcm: Int16Array): Promise<Float32Array>;
  /** Pads the leftover samples, if any, to a last window and returns its probability. */
  flush(): Promise<Float32Array>;
  close(): void;
}

/**
 * `adaptive`: partials only while the VAD hears speech, over the uncommitted tail of the current utterance (see
 * CommittedWindow), with the encoder context sized to it. `naive`: what most Whisper streamers do, kept as a benchmark
 * baseline: every partial interval, speech or not, re-transcribe a fixed trailing window with the full 30 s context
 * (finals keep the VAD's end points but also use the full context).
 */
export type StreamStrategy = 'adaptive' | 'naive';

/** Tuning for one stream session; the server fills it from its configuration. */
export interface StreamSettings {
  strategy: StreamStrategy;
  /** False sends finals only: no model is at hand to run partials (finals go to a remote server). */
  partials: boolean;
  /** Audio time between partial transcriptions of the running utterance. */
  partialIntervalMs: number;
  /** Silence after speech that ends a speech turn. */
  endSilenceMs: number;
  /**
   * While speech goes on, a segment is finalized once its committed text ends a sentence or spans this much audio
   * (cut at a committed word boundary), so no final reads much more than this.
   */
  maxSegmentMs: number;
  /** The backstop: a segment that reaches this length without a committed boundary is cut at its quietest point. */
  maxUtteranceMs: number;
  /** CPU threads each transcription uses. */
  threads: number;
  /** Beam width of finals (the engine is deterministic either way); wider is slightly more accurate and slower. */
  finalBeamSize: number;
  /** Start a final at a pause, before the end-of-speech silence is confirmed, and withdraw it if speech goes on. */
  earlyFinals: boolean;
  /**
   * Benchmarks only: make every decode produce this many text tokens per second of audio (see
   * TranscribeOptions.exactTokens), so a synthetic model costs what a real one would; 0 lets the model decide.
   */
  emulatedTokensPerSecond: number;
}

export type SessionErrorCode =
  | 'unknown_language'
  | 'unsupported_language'
  | 'session_ended'
  | 'transcription_failed'
  | 'bad_option';

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

/**
 * A partial or final transcript of one segment, in the session's audio time. A speech turn (from the start of speech
 * to the silence, flush or end that closes it) is one or more segments; each segment's messages are zero or more
 * partials, then its final, whose text never changes. Partials cover only audio after the previous final.
 */
export interface TranscriptEvent {
  text: string;
  isFinal: boolean;
  /** On a final: it closes its speech turn (no more segments of the turn follow). False on partials. */
  endOfSpeech: boolean;
  language: string;
  segmentId: number;
  /** The speech turn the segment belongs to; turns are numbered from 0 per session, in order. */
  turnId: number;
  /** Per session, increasing by one with every transcript. */
  seq: number;
  /** Whole milliseconds: a final covers exactly samples [startMs × 16, endMs × 16). */
  startMs: number;
  /** For a partial, the newest audio it covers; for a final, the end of the segment. */
  endMs: number;
  /**
   * The text's words with session-time bounds and confidence. For a partial, its committed words only: they stay
   * the same from one partial of the segment to the next, until the segment's final replaces them all.
   */
  words: Word[];
  /**
   * On a final with text: the decoder's text tokens it was read from, in order, with their probabilities (what
   * OpenAI's logprobs report). Absent on partials.
   */
  tokens?: TokenProbability[];
}

export interface TokenProbability {
  text: string;
  p: number;
}

/** Speech began (a turn opened: `segmentId` is its first segment) or stopped (its last), at `ms` of session audio. */
export interface SpeechEvent {
  type: 'started' | 'stopped';
  turnId: number;
  segmentId: number;
  ms: number;
}
