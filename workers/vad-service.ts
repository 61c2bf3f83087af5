/**
 * Speech detection for the server's streams on a worker thread of its own (vad-worker.ts): Silero costs about 5 ms
 * of CPU per second of audio per stream, which at a hundred streams would take half the event loop. Requests made
 * in one turn of the event loop go over in one message, and replies come back the same way.
 *
 * A thread that dies is a handled event: a fresh one starts, every open stream is reopened on it and its unanswered
 * requests are sent again, so each stream's promises still settle, in order, with probabilities (its LSTM state
 * starts afresh, which costs at most a moment of accuracy). Requests fail only when no thread can be started, or
 * when the same requests have killed THREAD_CRASHES_TOLERATED threads in a row.
 */
import { Worker } from 'node:worker_threads';
import type { SpeechDetector } from '../engine/pipeline/index.js';
import { registerCrashable } from './fault-injection.js';
import type { VadReply, VadRequest, VadWorkerData } from './vad-messages.js';

/** Silero's window at 16 kHz (VadModel.windowSize). */
const WINDOW_SAMPLES = 512;
/** Threads that may die one after another without answering anything before their unanswered requests fail. */
const THREAD_CRASHES_TOLERATED = 3;
/** Waits between attempts to start a thread after one failed to start: doubling from the first to the last. */
const RESTART_BACKOFF_MS = { first: 100, last: 5000 };

/** Why the service restarted its thread, or could not (for the server's log). */
export type VadFault =
  | { event: 'restarted'; exitCode: number; error: string | null; streams: number; resent: number }
  | { event: 'failed'; error: string };

interface Pending {
  /** A push's audio (a copy: the caller may reuse its buffer), kept until answered so a fresh thread can be sent it. */
  pcm: Int16Array | null;
  resolve: (probs: Float32Array) => void;
  reject: (error: Error) => void;
}

interface Stream {
  /** Unanswered requests, oldest first. */
  pending: Pending[];
  /** The answered audio's last samples short of a window, which the thread holds for the next push. */
  carry: Int16Array;
}

export class VadService {
  /** Null while a fresh thread starts. */
  private worker: Worker | null;
  private batch: VadRequest[] = [];
  private flushScheduled = false;
  private nextId = 1;
  private readonly streams = new Map<number, Stream>();
  /** Threads that died in a row without answering anything. */
  private crashes = 0;
  /** What the thread threw before it died, if anything. */
  private lastError: string | null = null;
  /** Set while no thread can be started: requests fail at once rather than wait. */
  private unavailable: Error | null = null;
  private closing = false;
  private readonly unregister: () => void;

  private constructor(
    worker: Worker,
    private readonly workerData: VadWorkerData,
    private readonly onFault: (fault: VadFault) => void,
  ) {
    this.worker = worker;
    this.listen(worker);
    this.unregister = registerCrashable({ kind: 'vad', crashThreads: () => this.crashThread() });
  }

  /** Starts the detection thread; rejects when the model cannot be loaded. `onFault` hears of restarts. */
  static async start(modelPath: string, onFault: (fault: VadFault) => void = () => undefined): Promise<VadService> {
    const data: VadWorkerData = { modelPath };
    const worker = await VadService.spawn(data);
    return new VadService(worker, data, onFault);
  }

  private static spawn(data: VadWorkerData): Promise<Worker> {
    const worker = new Worker(new URL('./vad-worker.js', import.meta.url), { workerData: data });
    return new Promise((resolve, reject) => {
      const failed = (error: Error): void => {
        worker.off('exit', exited);
        void worker.terminate();
        reject(error);
      };
      const exited = (code: number): void =>
        failed(new Error(`speech detection thread exited with code ${code} while starting`));
      worker.once('error', failed);
      worker.once('exit', exited);
      worker.once('message', (message: unknown) => {
        worker.off('error', failed);
        worker.off('exit', exited);
        if (message === 'ready') resolve(worker);
        else failed(new Error(`speech detection thread: unexpected first message ${JSON.stringify(message)}`));
      });
    });
  }

  /** A detector for one stream. */
  open(): SpeechDetector {
    const id = this.nextId++;
    const stream: Stream = { pending: [], carry: new Int16Array(0) };
    this.streams.set(id, stream);
    this.send({ op: 'open', id });
    const request = (pcm: Int16Array | null): Promise<Float32Array> =>
      new Promise((resolve, reject) => {
        if (this.streams.get(id) !== stream) return reject(new Error('speech detection stream is closed'));
        if (this.unavailable) return reject(this.unavailable);
        const copy = pcm ? pcm.slice() : null;
        stream.pending.push({ pcm: copy, resolve, reject });
        this.send(copy ? { op: 'push', id, pcm: copy } : { op: 'flush', id });
      });
    return {
      windowSamples: WINDOW_SAMPLES,
      push: (pcm) => request(pcm),
      flush: () => request(null),
      close: () => {
        if (this.streams.get(id) !== stream) return;
        this.streams.delete(id);
        this.send({ op: 'close', id });
        for (const waiter of stream.pending.splice(0)) waiter.reject(new Error('speech detection stream is closed'));
      },
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    this.unregister();
    const stopped = new Error('speech detection stopped');
    for (const stream of this.streams.values()) for (const waiter of stream.pending.splice(0)) waiter.reject(stopped);
    this.streams.clear();
    await this.worker?.terminate();
  }

  /** Fault injection (tests): ends the thread as a crash would and resolves once it has exited. */
  private async crashThread(): Promise<void> {
    await this.worker?.terminate();
  }

  private send(request: VadRequest): void {
    // Without a thread, the streams' state is sent to the next one in full (see adopt).
    if (!this.worker) return;
    this.batch.push(request);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const batch = this.batch;
      this.batch = [];
      // Requests meant for a thread that has died since are sent again to the next (see adopt).
      if (batch.length > 0) this.worker?.postMessage(batch);
    });
  }

  private listen(worker: Worker): void {
    worker.on('message', (replies: VadReply[]) => {
      // Replies of a thread already replaced are not this one's to match: their requests were sent again.
      if (worker !== this.worker) return;
      for (const reply of replies) this.answer(reply);
    });
    // An exception on the thread ends it; 'exit' follows, and handling it here keeps it from crashing the process.
    worker.on('error', (error) => {
      this.lastError = error.message;
    });
    worker.once('exit', (code) => {
      if (this.closing || worker !== this.worker) return;
      this.worker = null;
      this.batch = [];
      this.crashes++;
      if (this.crashes >= THREAD_CRASHES_TOLERATED) {
        this.failPending(
          new Error(`speech detection failed: its thread died ${this.crashes} times in a row on this audio`),
        );
        this.crashes = 0;
      }
      void this.restart(code);
    });
  }

  private answer(reply: VadReply): void {
    this.crashes = 0;
    const stream = this.streams.get(reply.id);
    const waiter = stream?.pending.shift();
    if (!stream || !waiter) return;
    if ('error' in reply) {
      waiter.reject(new Error(`speech detection failed: ${reply.error}`));
      return;
    }
    stream.carry = waiter.pcm ? leftover(stream.carry, waiter.pcm) : new Int16Array(0);
    waiter.resolve(reply.probs);
  }

  /** Starts a fresh thread, retrying with a growing wait; while none starts, requests fail. */
  private async restart(exitCode: number): Promise<void> {
    for (let wait = RESTART_BACKOFF_MS.first; !this.closing; wait = Math.min(wait * 2, RESTART_BACKOFF_MS.last)) {
      try {
        const fresh = await VadService.spawn(this.workerData);
        if (this.closing) {
          await fresh.terminate();
          return;
        }
        this.unavailable = null;
        this.adopt(fresh, exitCode);
        return;
      } catch (error) {
        const message =
          'speech detection is unavailable: its thread could not be restarted ' +
          `(${error instanceof Error ? error.message : String(error)})`;
        this.unavailable = new Error(message);
        this.failPending(this.unavailable);
        this.onFault({ event: 'failed', error: message });
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /** Makes `fresh` the thread: every open stream is reopened on it and its unanswered requests sent again. */
  private adopt(fresh: Worker, exitCode: number): void {
    this.worker = fresh;
    this.listen(fresh);
    let resent = 0;
    for (const [id, stream] of this.streams) {
      this.send(stream.carry.length > 0 ? { op: 'open', id, carry: stream.carry } : { op: 'open', id });
      for (const waiter of stream.pending) {
        this.send(waiter.pcm ? { op: 'push', id, pcm: waiter.pcm } : { op: 'flush', id });
        resent++;
      }
    }
    this.onFault({ event: 'restarted', exitCode, error: this.lastError, streams: this.streams.size, resent });
    this.lastError = null;
  }

  private failPending(error: Error): void {
    for (const stream of this.streams.values()) for (const waiter of stream.pending.splice(0)) waiter.reject(error);
  }
}

/** The samples short of a window that remain after `pcm` is pushed behind `carry` (itself short of a window). */
function leftover(carry: Int16Array, pcm: Int16Array): Int16Array {
  const keep = (carry.length + pcm.length) % WINDOW_SAMPLES;
  if (keep === 0) return new Int16Array(0);
  if (keep <= pcm.length) return pcm.slice(pcm.length - keep);
  const out = new Int16Array(keep);
  out.set(carry.subarray(carry.length - (keep - pcm.length)));
  out.set(pcm, keep - pcm.length);
  return out;
}
