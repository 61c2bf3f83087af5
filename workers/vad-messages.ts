/** What the event loop and the speech-detection thread (vad-worker.ts) send each other. */
export interface VadWorkerData {
  modelPath: string;
}

export type VadRequest =
  /** `carry`: samples short of a window that a stream reopened on a fresh thread had pushed before (no reply). */
  | { op: 'open'; id: number; carry?: Int16Array }
  | { op: 'push'; id: number; pcm: Int16Array }
  | { op: 'flush'; id: number }
  | { op: 'close'; id: number };

/** One per push or flush, in the order they were asked for. */
export type VadReply = { id: number; probs: Float32Array } | { id: number; error: string };
