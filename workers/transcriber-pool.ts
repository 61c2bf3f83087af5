/** The pool of transcription worker threads (Piscina), one model state each, behind the TranscriptionRunner interface. */
import { Piscina } from 'piscina';
import { EngineError } from '../engine/index.js';
import type { TranscriptionOutcome, TranscriptionRunner, TranscriptionTask } from '../engine/pipeline/index.js';
import type { TranscribeReply, TranscribeRequest, TranscribeWorkerData, WarmupReply } from './transcribe-task.js';

export interface TranscriberPoolOptions {
  modelPath: string;
  /** Worker threads, each with its own model state; one transcription runs on each at a time. */
  size: number;
  /** CPU threads each transcription uses. */
  threads: number;
  /** Time every word (DTW): partials commit by it and transcripts carry it; costs an extra decoder pass per job. */
  wordTimestamps: boolean;
}

/** Runs transcriptions on worker threads so the server's event loop never waits for the model. */
export class TranscriberPool implements TranscriptionRunner {
  /** Abort flags of the transcriptions submitted and not yet settled. */
  private readonly inFlight = new Map<Int32Array, Promise<TranscribeReply>>();

  private constructor(
    private readonly piscina: Piscina,
    readonly model: WarmupReply,
  ) {}

  /** Starts the workers, loads the model in each and warms them up; rejects if the model cannot be loaded. */
  static async start(options: TranscriberPoolOptions): Promise<TranscriberPool> {
    const workerData: TranscribeWorkerData = { modelPath: options.modelPath, wordTimestamps: options.wordTimestamps };
    const piscina = new Piscina({
      filename: new URL('./transcribe-task.js', import.meta.url).href,
      minThreads: options.size,
      maxThreads: options.size,
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData,
    });
    try {
      const replies = await Promise.all(
        Array.from({ length: options.size }, () => piscina.run(options.threads, { name: 'warmup' }) as Promise<WarmupReply>),
      );
      return new TranscriberPool(piscina, replies[0] as WarmupReply);
    } catch (error) {
      await piscina.destroy();
      throw error;
    }
  }

  async transcribe(task: TranscriptionTask, signal: AbortSignal): Promise<TranscriptionOutcome> {
    const abort = new Int32Array(new SharedArrayBuffer(4));
    const stop = (): void => {
      Atomics.store(abort, 0, 1);
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    const request: TranscribeRequest = { task, abort };
    const run = this.piscina.run(request, { name: 'transcribe', transferList: [task.pcm.buffer as ArrayBuffer] }) as Promise<TranscribeReply>;
    this.inFlight.set(abort, run);
    try {
      const reply = await run;
      if (!reply.ok) throw new EngineError(reply.code, reply.message);
      return reply.outcome;
    } finally {
      this.inFlight.delete(abort);
      signal.removeEventListener('abort', stop);
    }
  }

  /** Stops what is still running, lets it wind down, then ends the workers (ending one mid-inference would tear the job down under it). */
  async close(): Promise<void> {
    for (const abort of this.inFlight.keys()) Atomics.store(abort, 0, 1);
    await Promise.allSettled(this.inFlight.values());
    await this.piscina.destroy();
  }
}
