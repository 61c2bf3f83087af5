import { BroadcastChannel } from 'node:worker_threads';
import { workerData } from 'piscina';
import { WhisperModel } from '../engine/index.js';
import { toOutcome, type TranscriptionOutcome, type TranscriptionTask } from '../engine/streaming/index.js';

export interface TranscribeWorkerData {
  modelPath: string;
  /** Name of the BroadcastChannel on which the pool posts the ids of tasks to abort. */
  abortChannel: string;
}

export interface TranscribeRequest {
  id: number;
  task: TranscriptionTask;
}

export interface WarmupReply {
  multilingual: boolean;
  modelType: string;
}

// Ids whose abort arrived before their task did; kept short, as most such ids belong to tasks that already ended.
const EARLY_ABORTS_KEPT = 64;

// One model state per worker thread, created when the thread starts; the weights are shared across threads.
const { modelPath, abortChannel } = workerData as TranscribeWorkerData;
const model = new WhisperModel(modelPath);
let runningId: number | null = null;
const earlyAborts = new Set<number>();

const aborts = new BroadcastChannel(abortChannel);
aborts.unref();
aborts.onmessage = (event: unknown) => {
  const id = (event as MessageEvent<number>).data;
  if (id === runningId) {
    model.abort();
    return;
  }
  earlyAborts.add(id);
  if (earlyAborts.size > EARLY_ABORTS_KEPT) earlyAborts.delete(earlyAborts.values().next().value as number);
};

/** Runs one tiny transcription so the first real one does not pay for buffer allocation. */
export async function warmup(threads: number): Promise<WarmupReply> {
  await model.transcribe(new Int16Array(16000), { threads, maxTokens: 1, temperatureFallback: false });
  const info = model.info();
  return { multilingual: info.multilingual, modelType: info.type };
}

export async function transcribe(request: TranscribeRequest): Promise<TranscriptionOutcome> {
  if (earlyAborts.delete(request.id)) throw Object.assign(new Error('transcription aborted'), { code: 'ABORTED' });
  runningId = request.id;
  try {
    return toOutcome(await model.transcribe(request.task.pcm, request.task.options));
  } finally {
    runningId = null;
  }
}
