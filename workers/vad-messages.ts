/** What the event loop and the speech-detection thread (vad-worker.ts) send each other. */
export interface VadWorkerData {
  modelPath: string;
}

export type VadRequest =
  | { op: 'open'; id: number }
  | { op: 'push'; id: number; pcm: Int16Array }
  | { op: 'flush'; id: number }
  | { op: 'close'; id: number };

/** One per push or flush, in the order they were asked for. */
export type VadReply = { id: number; probs: Float32Array } | { id: number; error: string };
