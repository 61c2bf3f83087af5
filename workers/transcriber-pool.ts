import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { TranscriptionOutcome, TranscriptionRunner, TranscriptionTask } from '../engine/streaming/index.js';
import type { TranscribeRequest, TranscribeWorkerData, WarmupReply } from './transcribe-task.js';

export interface TranscriberPoolOptions {
  modelPath: string;
  /** Worker threads, each with its own model state; one transcription runs on each at a time. */
  size: number;
  /** CPU threads each transcription uses. */
  threads: number;
}

/** Runs transcriptions on worker threads so the server's event loop never waits for the model. */
export class TranscriberPool implements TranscriptionRunner {
  private nextId = 1;
  private readonly inFlight = new Map<number, Promise<unknown>>();

  private constructor(
    private readonly piscina: Piscina,
    // Piscina's own abort terminates the worker thread (and its loaded model); this channel asks the worker to
    // stop the inference instead, and the thread stays ready for the next task.
    private readonly aborts: BroadcastChannel,
    readonly model: WarmupReply,
  ) {}

  /** Starts the workers, loads the model in each and warms them up; rejects if the model cannot be loaded. */
  static async start(options: TranscriberPoolOptions): Promise<TranscriberPool> {
    const workerData: TranscribeWorkerData = { modelPath: options.modelPath, abortChannel: `transcribe-abort-${randomUUID()}` };
    const piscina = new Piscina({
      filename: new URL('./transcribe-task.js', import.meta.url).href,
      minThreads: options.size,
      maxThreads: options.size,
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData,
    });
    const aborts = new BroadcastChannel(workerData.abortChannel);
    aborts.unref();
    try {
      const replies = await Promise.all(
        Array.from({ length: options.size }, () => piscina.run(options.threads, { name: 'warmup' }) as Promise<WarmupReply>),
      );
      return new TranscriberPool(piscina, aborts, replies[0] as WarmupReply);
    } catch (error) {
      aborts.close();
      await piscina.destroy();
      throw error;
    }
  }

  transcribe(task: TranscriptionTask, signal: AbortSignal): Promise<TranscriptionOutcome> {
    const request: TranscribeRequest = { id: this.nextId++, task };
    signal.addEventListener('abort', () => this.aborts.postMessage(request.id), { once: true });
    const run = this.piscina.run(request, { name: 'transcribe', transferList: [task.pcm.buffer as ArrayBuffer] }) as Promise<TranscriptionOutcome>;
    this.inFlight.set(request.id, run);
    const forget = (): void => void this.inFlight.delete(request.id);
    run.then(forget, forget);
    return run;
  }

  /** Stops what is still running, lets it wind down, then ends the workers (ending one mid-inference would tear the job down under it). */
  async close(): Promise<void> {
    for (const id of this.inFlight.keys()) this.aborts.postMessage(id);
    await Promise.allSettled(this.inFlight.values());
    this.aborts.close();
    await this.piscina.destroy();
  }
}
