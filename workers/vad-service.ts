/**
 * Speech detection for the server's streams on a worker thread of its own (vad-worker.ts): Silero costs about 5 ms
 * of CPU per second of audio per stream, which at a hundred streams would take half the event loop. Requests made
 * in one turn of the event loop go over in one message, and replies come back the same way.
 */
import { Worker } from 'node:worker_threads';
import type { SpeechDetector } from '../engine/pipeline/index.js';
import type { VadReply, VadRequest, VadWorkerData } from './vad-messages.js';

/** Silero's window at 16 kHz (VadModel.windowSize). */
const WINDOW_SAMPLES = 512;

interface Waiter {
  resolve: (probs: Float32Array) => void;
  reject: (error: Error) => void;
}

export class VadService {
  private worker: Worker;
  private batch: VadRequest[] = [];
  private readonly transfers: ArrayBuffer[] = [];
  private flushScheduled = false;
  private nextId = 1;
  /** Replies awaited per stream, oldest first. */
  private readonly waiting = new Map<number, Waiter[]>();
  private closing = false;

  private constructor(
    worker: Worker,
    private readonly workerData: VadWorkerData,
  ) {
    this.worker = worker;
    this.listen(worker);
  }

  /** Starts the detection thread; rejects when the model cannot be loaded. */
  static async start(modelPath: string): Promise<VadService> {
    const data: VadWorkerData = { modelPath };
    const worker = await VadService.spawn(data);
    return new VadService(worker, data);
  }

  private static spawn(data: VadWorkerData): Promise<Worker> {
    const worker = new Worker(new URL('./vad-worker.js', import.meta.url), { workerData: data });
    return new Promise((resolve, reject) => {
      const failed = (error: Error): void => {
        void worker.terminate();
        reject(error);
      };
      worker.once('error', failed);
      worker.once('message', (message: unknown) => {
        worker.off('error', failed);
        if (message === 'ready') resolve(worker);
        else failed(new Error(`speech detection thread: unexpected first message ${JSON.stringify(message)}`));
      });
    });
  }

  /** A detector for one stream. */
  open(): SpeechDetector {
    const id = this.nextId++;
    this.waiting.set(id, []);
    this.send({ op: 'open', id });
    const request = (op: 'push' | 'flush', pcm?: Int16Array): Promise<Float32Array> =>
      new Promise((resolve, reject) => {
        const queue = this.waiting.get(id);
        if (!queue) return reject(new Error('speech detection stream is closed'));
        queue.push({ resolve, reject });
        if (op === 'push' && pcm) {
          const copy = pcm.slice();
          this.transfers.push(copy.buffer);
          this.send({ op, id, pcm: copy });
        } else this.send({ op: 'flush', id });
      });
    return {
      windowSamples: WINDOW_SAMPLES,
      push: (pcm) => request('push', pcm),
      flush: () => request('flush'),
      close: () => {
        if (!this.waiting.delete(id)) return;
        this.send({ op: 'close', id });
      },
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const queue of this.waiting.values()) for (const waiter of queue) waiter.reject(new Error('speech detection stopped'));
    this.waiting.clear();
    await this.worker.terminate();
  }

  private send(request: VadRequest): void {
    this.batch.push(request);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const batch = this.batch;
      this.batch = [];
      this.worker.postMessage(batch, this.transfers.splice(0));
    });
  }

  private listen(worker: Worker): void {
    worker.on('message', (replies: VadReply[]) => {
      for (const reply of replies) {
        const waiter = this.waiting.get(reply.id)?.shift();
        if (!waiter) continue;
        if ('probs' in reply) waiter.resolve(reply.probs);
        else waiter.reject(new Error(`speech detection failed: ${reply.error}`));
      }
    });
    // A crashed thread takes every stream's LSTM state with it: their pending requests fail, and a fresh thread
    // serves streams opened from now on.
    worker.once('exit', () => {
      if (this.closing) return;
      for (const queue of this.waiting.values()) for (const waiter of queue.splice(0)) waiter.reject(new Error('speech detection thread stopped'));
      this.waiting.clear();
      void VadService.spawn(this.workerData).then((fresh) => {
        this.worker = fresh;
        this.listen(fresh);
      });
    });
  }
}
