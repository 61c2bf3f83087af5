/**
 * The pool of transcription worker threads (Piscina), one model state each, behind the TranscriptionRunner interface.
 * A worker that dies is replaced by Piscina; the transcription it was running is run once more on another, so a
 * crash costs its sessions time, not a transcript.
 */
import { Piscina } from 'piscina';
import { EngineError } from '../engine/index.js';
import type { TranscriptionOutcome, TranscriptionRunner, TranscriptionTask } from '../engine/pipeline/index.js';
import { registerCrashable } from './fault-injection.js';
import type { TranscribeReply, TranscribeRequest, TranscribeWorkerData, WarmupReply } from './transcribe-task.js';

export interface TranscriberPoolOptions {
  modelPath: string;
  /** Worker threads, each with its own model state; one transcription runs on each at a time. */
  size: number;
  /** CPU threads each transcription uses. */
  threads: number;
  /** Time every word (DTW): partials commit by it and transcripts carry it; costs an extra decoder pass per job. */
  wordTimestamps: boolean;
  /** Told when a worker dies (for the server's log). */
  onFault?: (error: Error) => void;
}

/** Runs transcriptions on worker threads so the server's event loop never waits for the model. */
export class TranscriberPool implements TranscriptionRunner {
  /** Abort flags of the transcriptions submitted and not yet settled. */
  private readonly inFlight = new Map<Int32Array, Promise<TranscribeReply>>();
  private closing = false;
  private readonly unregister: () => void;
  /** Fault injection: resolved when the next transcription has been handed to a worker. */
  private submitted: (() => void) | null = null;

  private constructor(
    private readonly piscina: Piscina,
    readonly model: WarmupReply,
  ) {
    this.unregister = registerCrashable({ kind: 'transcriber', crashThreads: () => this.crashThreads() });
  }

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
    // Piscina reports a worker that died with no task as an 'error' event, which unheard would end the process.
    const onFault = options.onFault ?? ((): void => undefined);
    piscina.on('error', onFault);
    try {
      const replies = await Promise.all(
        Array.from(
          { length: options.size },
          () => piscina.run(options.threads, { name: 'warmup' }) as Promise<WarmupReply>,
        ),
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
    // The audio is copied to the worker, not transferred: it is needed again if that worker dies.
    const request: TranscribeRequest = { task, abort };
    try {
      for (let crashes = 0; ; crashes++) {
        const run = this.piscina.run(request, { name: 'transcribe' }) as Promise<TranscribeReply>;
        this.inFlight.set(abort, run);
        this.submitted?.();
        let reply: TranscribeReply;
        try {
          reply = await run;
        } catch (error) {
          // Piscina rejects only when the worker died (its replies carry engine errors as data) or the pool stops.
          const message = error instanceof Error ? error.message : String(error);
          if (this.closing) throw new EngineError('ABORTED', `the transcription pool stopped: ${message}`);
          if (signal.aborted) throw new EngineError('ABORTED', `transcription aborted; its worker died: ${message}`);
          // One crash can take several workers at once, and a retry may land on one still going down: a task is given
          // up once it has died on more workers than the pool has, which still bounds one that kills every worker.
          if (crashes >= this.piscina.options.maxThreads || this.piscina.threads.length === 0) {
            throw new EngineError(
              'INFERENCE_FAILED',
              `the transcription worker died running this task ${crashes + 1} times (${message})`,
            );
          }
          continue;
        }
        if (!reply.ok) throw new EngineError(reply.code, reply.message);
        return reply.outcome;
      }
    } finally {
      this.inFlight.delete(abort);
      signal.removeEventListener('abort', stop);
    }
  }

  /**
   * Stops what is still running, lets it wind down, then ends the workers (ending one mid-inference would tear the job
   * down under it).
   */
  async close(): Promise<void> {
    this.closing = true;
    this.unregister();
    for (const abort of this.inFlight.keys()) Atomics.store(abort, 0, 1);
    await Promise.allSettled(this.inFlight.values());
    await this.piscina.destroy();
  }

  /** Fault injection (tests): once a transcription is on a worker, ends every worker as a crash would. */
  private async crashThreads(): Promise<void> {
    if (this.inFlight.size === 0) {
      await new Promise<void>((resolve) => {
        this.submitted = resolve;
      });
      this.submitted = null;
    }
    await Promise.all(this.piscina.threads.map((worker) => worker.terminate()));
  }
}
