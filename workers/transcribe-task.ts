/**
 * The Piscina task of the transcription pool. Inference runs synchronously on this worker thread, already off the
 * event loop, so a transcription costs one thread hop; the pool stops it through a shared flag that whisper.cpp's
 * abort callback reads.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { workerData } from 'piscina';
import { WhisperModel, engineErrorCode, type EngineErrorCode } from '../engine/index.js';
import { toOutcome, type TranscriptionOutcome, type TranscriptionTask } from '../engine/pipeline/index.js';

export interface TranscribeWorkerData {
  modelPath: string;
  /** Load the model with DTW word timestamps (see ModelLoadOptions.wordTimestamps). */
  wordTimestamps: boolean;
}

export interface TranscribeRequest {
  task: TranscriptionTask;
  /** One Int32 over a SharedArrayBuffer: the pool stores 1 to abort. */
  abort: Int32Array;
}

/** Errors travel as data: structured cloning would keep an Error's message but drop its `code`. */
export type TranscribeReply =
  | { ok: true; outcome: TranscriptionOutcome }
  | { ok: false; code: EngineErrorCode; message: string };

export interface WarmupReply {
  multilingual: boolean;
  modelType: string;
}

/**
 * Each task's audio arrives as a fresh buffer (up to 1 MB) in this thread's malloc arena. The thread's JavaScript heap
 * is tiny, so V8 would collect those buffers only once tens of megabytes had piled up, leaving the arena large,
 * fragmented and resident for good; a young-generation collection after each task frees the one before it at once.
 * V8's flags are process-wide: setting this one again is harmless.
 */
setFlagsFromString('--expose-gc');
const collectYoung: () => void = (() => {
  const gc = runInNewContext('gc') as (options: { type: 'minor' }) => void;
  return () => gc({ type: 'minor' });
})();

// One model state per worker thread, created when the thread starts; the weights are shared across threads.
const { modelPath, wordTimestamps } = workerData as TranscribeWorkerData;
const model = new WhisperModel(modelPath, { wordTimestamps });

/** Runs one tiny transcription so the first real one does not pay for buffer allocation. */
export function warmup(threads: number): WarmupReply {
  model.transcribeSync(new Int16Array(16000), { threads, maxTokens: 1, temperatureFallback: false });
  const info = model.info();
  return { multilingual: info.multilingual, modelType: info.type };
}

export function transcribe(request: TranscribeRequest): TranscribeReply {
  try {
    return {
      ok: true,
      outcome: toOutcome(model.transcribeSync(request.task.pcm, request.task.options, request.abort)),
    };
  } catch (error) {
    return { ok: false, code: engineErrorCode(error), message: error instanceof Error ? error.message : String(error) };
  } finally {
    collectYoung();
  }
}
