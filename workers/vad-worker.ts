/**
 * The speech-detection thread: Silero VAD for every stream of the server, off the event loop. One VadModel per
 * stream over a single shared Silero context (the weights load once); requests arrive in batches and are answered
 * in order, one reply batch per request batch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { VadModel } from '../engine/index.js';
import type { VadReply, VadRequest, VadWorkerData } from './vad-messages.js';

const { modelPath } = workerData as VadWorkerData;
const port = parentPort;
if (!port) throw new Error('vad-worker.js runs as a worker thread');
const streams = new Map<number, VadModel>();

function handle(request: VadRequest): VadReply | null {
  const { id } = request;
  try {
    switch (request.op) {
      case 'open': {
        const vad = new VadModel(modelPath);
        streams.set(id, vad);
        // Fewer samples than a window: no probability comes of them yet.
        if (request.carry) vad.push(request.carry);
        return null;
      }
      case 'close':
        streams.get(id)?.free();
        streams.delete(id);
        return null;
      case 'push':
      case 'flush': {
        const vad = streams.get(id);
        if (!vad) throw new Error(`speech detection stream ${id} is not open`);
        return { id, probs: request.op === 'push' ? vad.push(request.pcm) : vad.flush() };
      }
    }
  } catch (error) {
    return { id, error: error instanceof Error ? error.message : String(error) };
  }
}

port.on('message', (batch: VadRequest[]) => {
  const replies: VadReply[] = [];
  for (const request of batch) {
    const reply = handle(request);
    if (reply) replies.push(reply);
  }
  port.postMessage(
    replies,
    replies.flatMap((reply) => ('probs' in reply ? [reply.probs.buffer as ArrayBuffer] : [])),
  );
});
// Loading the model once here reports a broken file at start-up rather than at the first stream.
new VadModel(modelPath).free();
port.postMessage('ready');
