/** 16 kHz mono PCM: Int16Array (s16) or Float32Array (-1..1). */
export type Pcm = Int16Array | Float32Array;

export interface ModelLoadOptions {
  /** Use the GPU when the addon was built with GGML_CUDA=1 (no effect otherwise). Default true, as in whisper.cpp. */
  useGpu?: boolean;
  /**
   * Flash attention. Default false, unlike whisper.cpp: in whisper.cpp 1.9 it lets a call with a smaller `audioCtx`
   * read values left over from an earlier, larger call on the same state, so results depend on what ran before.
   * It only speeds up the full 30 s context (about 25%); at the automatic context it makes no measurable difference.
   */
  flashAttn?: boolean;
  gpuDevice?: number;
  /**
   * Time every token (`Token.timeMs`) by dynamic time warping over the model's alignment heads (whisper.cpp's DTW
   * token timestamps, heads chosen by model size). Costs an extra decoder pass per call. Needs `flashAttn` off.
   * Instances that differ in this option load the weights separately.
   */
  wordTimestamps?: boolean;
}

export interface TranscribeOptions {
  /**
   * ISO 639-1 code (`'en'`, `'te'`, ...) or `'auto'` to detect. Default `'en'`. English-only models accept only
   * `'en'`/`'auto'`.
   */
  language?: string;
  /**
   * Encoder context in frames (one frame = 20 ms). `'auto'` (default) sizes it to the audio given, rounded up to a
   * multiple of 64 and capped at the model's 1500; `'full'` always uses 1500, as whisper.cpp does by default.
   */
  audioCtx?: number | 'auto' | 'full';
  /** Cap on text tokens per segment; 0 (default) means no cap. */
  maxTokens?: number;
  singleSegment?: boolean;
  noTimestamps?: boolean;
  /** 1 (default) decodes greedily; 2 to 8 run beam search with that many beams. */
  beamSize?: number;
  /** Whisper's translate task: English text from speech in any language (multilingual models only). Default false. */
  translate?: boolean;
  /** Retry at higher temperatures when decoding looks degenerate. Default true, as in whisper.cpp. */
  temperatureFallback?: boolean;
  /**
   * Initial prompt text, e.g. the previous utterance, to condition vocabulary and style. Only its last 1024 bytes are
   * used: Whisper reads at most the last 224 tokens of it, and longer text only costs tokenizer time.
   */
  prompt?: string;
  /**
   * Benchmarks only: make the decoder produce exactly this many text tokens (end of text is suppressed before and
   * forced at that count), so a synthetic model's decode costs what a real model's would. 0 (default) lets the
   * model decide.
   */
  exactTokens?: number;
  /** Segments whose no-speech probability is above this count as silence. Default 0.6. */
  noSpeechThold?: number;
  /** CPU threads for this call. Default min(4, CPUs). */
  threads?: number;
}

export interface Token {
  id: number;
  text: string;
  /** Probability the decoder gave this token. */
  p: number;
  /** With the model loaded with `wordTimestamps`: where the token begins in the audio given (DTW alignment). */
  timeMs?: number;
}

export interface Segment {
  text: string;
  startMs: number;
  endMs: number;
  noSpeechProb: number;
  tokens: Token[];
}

export interface Timings {
  /** Encoder wall time. */
  encodeMs: number;
  /** Everything else in the call: mel spectrogram, language detection, decoding and sampling. */
  decodeMs: number;
  totalMs: number;
}

export interface TranscriptionResult {
  text: string;
  /** Language the text is in: the one asked for, or the detected one with `language: 'auto'`. */
  language: string;
  segments: Segment[];
  /** Encoder context the call used. */
  audioCtx: number;
  timings: Timings;
}

export interface DetectLanguageOptions {
  audioCtx?: number | 'auto' | 'full';
  /** How many candidates to return, most likely first. Default 5. */
  top?: number;
  threads?: number;
}

export interface LanguageCandidate {
  language: string;
  probability: number;
}

export interface LanguageDetection {
  language: string;
  probability: number;
  candidates: LanguageCandidate[];
  audioCtx: number;
  timings: { totalMs: number };
}

export interface ModelInfo {
  path: string;
  /** whisper.cpp's name for the size: `tiny`, `base`, ... */
  type: string;
  multilingual: boolean;
  nVocab: number;
  nAudioCtx: number;
  nAudioState: number;
  nAudioLayer: number;
  nTextCtx: number;
  nTextLayer: number;
  nMels: number;
  ftype: number;
}

export interface VadParams {
  /** Speech probability threshold. Default 0.5. */
  threshold?: number;
  minSpeechDurationMs?: number;
  minSilenceDurationMs?: number;
  maxSpeechDurationS?: number;
  speechPadMs?: number;
}

export interface VadSegment {
  startMs: number;
  endMs: number;
}

export interface Language {
  code: string;
  name: string;
}

/** Codes on errors thrown or rejected by the engine: the keys of engine/error-codes.json. */
export type { EngineErrorCode } from './errors.js';
