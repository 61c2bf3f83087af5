export {
  StreamSession,
  MAX_FRAME_MS,
  MIN_END_SILENCE_MS,
  FINAL_DEADLINE_MS,
  type StreamSessionOptions,
  type StreamSessionEvents,
  type PartialWork,
} from './stream-session.js';
export {
  SessionCore,
  PARTIAL_OVERLAP_MS,
  PARTIAL_MAX_TAIL_MS,
  MIN_SEGMENT_MS,
  type CoreEffects,
  type FinalRequest,
  type PartialPlan,
  type Segment,
  type SessionCoreOptions,
} from './session-core.js';
export {
  TranscriptionScheduler,
  type Concurrency,
  type LiveJob,
  type SchedulerStats,
  type TaskBuilder,
  type JobResult,
  type JobEnd,
  type JobClass,
  type SchedulerObserver,
} from './scheduler.js';
export {
  LoadController,
  WIDEN_ABOVE,
  NARROW_BELOW,
  type LoadControllerOptions,
  type LoadSnapshot,
} from './load-controller.js';
export { CommittedWindow, type CommittedWindowOptions, type WindowPlan } from './committed-window.js';
export { segmentCut, type SegmentCut, type SegmentLimits } from './segmenter.js';
export { PartialPolicy, PARTIAL_CADENCE_MS } from './partial-policy.js';
export { ArrivalClock } from './arrival-clock.js';
export { decodeOptions, type DecodeSettings } from './decode-options.js';
export { LocalSpeechDetector } from './local-speech-detector.js';
export { LanguagePolicy } from './language-policy.js';
export { PcmRingBuffer } from '../audio/pcm-ring-buffer.js';
export {
  UtteranceDetector,
  MAX_END_SILENCE_MS,
  SPEECH_THRESHOLD,
  SILENCE_THRESHOLD,
  MIN_SPEECH_MS,
  PRE_PAD_MS,
  POST_PAD_MS,
  type UtteranceEvent,
} from './utterance-detector.js';
export { speechText, stripPunctuation, removeNonSpeech, collapseRepetitions } from './text-filters.js';
export { wordsOf, shiftWords } from './words.js';
export { toOutcome } from './outcome.js';
export * from './types.js';
export { transcribeLong, WINDOW_SAMPLES, type LongAudioOptions, type WindowRunner } from './long-audio.js';
