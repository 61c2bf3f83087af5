export { StreamSession, MAX_FRAME_MS, type StreamSessionOptions, type StreamSessionEvents } from './stream-session.js';
export { TranscriptionScheduler, type Concurrency, type SchedulerStats, type TaskBuilder, type JobResult, type JobEnd, type SchedulerObserver } from './scheduler.js';
export { LanguagePolicy } from './language-policy.js';
export { PcmRingBuffer } from '../audio/pcm-ring-buffer.js';
export { UtteranceDetector, SPEECH_THRESHOLD, SILENCE_THRESHOLD, MIN_SPEECH_MS, PRE_PAD_MS, POST_PAD_MS, type UtteranceEvent } from './utterance-detector.js';
export { PartialStabilizer } from './partial-stabilizer.js';
export { speechText, stripPunctuation, removeNonSpeech, collapseRepetitions } from './text-filters.js';
export { toOutcome } from './outcome.js';
export * from './types.js';
