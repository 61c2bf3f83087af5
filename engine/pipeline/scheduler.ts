/**
 * Decides what the runner works on next, across all sessions and uploads. Work waits here rather than in the
 * runner's own queue, so priorities still apply when the runner is busy:
 * - finals first, in arrival order, one at a time per owner (each prompts with the one before); when every slot is
 *   busy, a final takes the slot of a running partial, which goes back to the head of the line;
 * - partials next, taking turns across owners: at most one running and one queued per owner, and a newer partial
 *   replaces the owner's queued one and keeps its place (a partial may run beside its owner's final: the session
 *   holds its result until that final is out, so messages stay in order);
 * - file uploads last, at most `uploads` at a time, never ahead of live work that could run.
 */
import type { TranscriptionOutcome, TranscriptionRunner, TranscriptionTask } from './types.js';

/**
 * Builds a task when the scheduler is about to run it, so a partial covers the newest audio at that moment and a
 * final can read state (the previous final's text) that only exists once earlier work is done. `null` skips it.
 */
export type TaskBuilder = () => TranscriptionTask | null;

/** `null`: the job did not run to the end (replaced by a newer partial, aborted, cancelled, or nothing to do). */
export type JobResult = TranscriptionOutcome | null;

/** How a job that reached the runner ended. */
export type JobEnd = 'done' | 'failed' | 'aborted';

export type JobClass = 'final' | 'partial' | 'upload';

/** Told about every job the runner works on; for metrics and the load controller. */
export interface SchedulerObserver {
  started(kind: JobClass, waitedMs: number): void;
  finished(kind: JobClass, runMs: number, end: JobEnd): void;
}

interface Job {
  cls: JobClass;
  owner: object;
  build: TaskBuilder;
  resolve: (result: JobResult) => void;
  reject: (error: unknown) => void;
  queuedAt: number;
  /** Present while the job runs. */
  abort?: AbortController;
  /** Taken off its worker for a final: it is queued again instead of settling. */
  preempted?: boolean;
}

interface OwnerState {
  finalsQueued: number;
  runningFinal: Job | null;
  runningPartial: Job | null;
}

/**
 * How many jobs may run at once: `slots` shared by all classes when one runner does everything; or, when finals run
 * elsewhere (a remote server), a limit of their own so a slow remote cannot hold the slots partials need.
 */
export interface Concurrency {
  slots: number;
  /** Finals run on slots of their own, at most this many at a time. */
  remoteFinals?: number;
  /** At most this many uploads at a time (within `slots`). */
  uploads: number;
}

export interface SchedulerStats {
  running: number;
  queuedFinals: number;
  queuedPartials: number;
  queuedUploads: number;
}

export class TranscriptionScheduler {
  private readonly finals: Job[] = [];
  /** Queued partials by owner; a replacement keeps its owner's place in line. */
  private readonly partials = new Map<object, Job>();
  private readonly uploads: Job[] = [];
  private readonly owners = new Map<object, OwnerState>();
  private readonly running = new Set<Job>();
  /** Owners that asked for partials since takePartialOwners() last counted them. */
  private partialOwners = new Set<object>();
  private pumpScheduled = false;

  constructor(
    private readonly runner: TranscriptionRunner,
    private readonly concurrency: Concurrency,
    private readonly observers: SchedulerObserver[] = [],
  ) {}

  /** `signal` withdraws the final: dropped if still queued, aborted if running; either way it resolves with null. */
  final(owner: object, build: TaskBuilder, signal?: AbortSignal): Promise<JobResult> {
    return this.enqueue('final', owner, build, signal);
  }

  partial(owner: object, build: TaskBuilder): Promise<JobResult> {
    this.partialOwners.add(owner);
    return new Promise((resolve, reject) => {
      this.partials.get(owner)?.resolve(null);
      this.partials.set(owner, { cls: 'partial', owner, build, resolve, reject, queuedAt: performance.now() });
      this.pump();
    });
  }

  /** A piece of a file upload; `signal` withdraws it like a final's. */
  upload(owner: object, build: TaskBuilder, signal?: AbortSignal): Promise<JobResult> {
    return this.enqueue('upload', owner, build, signal);
  }

  /** Stops the owner's running partial, whose result nobody wants any more (its utterance ended); frees the worker. */
  abortPartial(owner: object): void {
    this.owners.get(owner)?.runningPartial?.abort?.abort();
  }

  /** Drops the owner's queued work and aborts its running work; all of it resolves with null. */
  cancel(owner: object): void {
    for (const queue of [this.finals, this.uploads]) {
      for (let i = queue.length - 1; i >= 0; i--) {
        const job = queue[i] as Job;
        if (job.owner !== owner) continue;
        queue.splice(i, 1);
        job.resolve(null);
      }
    }
    this.partials.get(owner)?.resolve(null);
    this.partials.delete(owner);
    for (const job of this.running) if (job.owner === owner) job.abort?.abort();
    const state = this.owners.get(owner);
    if (state) state.finalsQueued = 0;
  }

  /**
   * The sessions speaking now: owners that asked for partials since the last call, or whose partial still waits or
   * runs (a starved session asks no more while its request waits, yet wants partials all the same).
   */
  takePartialOwners(): number {
    const owners = this.partialOwners;
    for (const owner of this.partials.keys()) owners.add(owner);
    for (const job of this.running) if (job.cls === 'partial') owners.add(job.owner);
    this.partialOwners = new Set();
    return owners.size;
  }

  get stats(): SchedulerStats {
    return { running: this.running.size, queuedFinals: this.finals.length, queuedPartials: this.partials.size, queuedUploads: this.uploads.length };
  }

  private enqueue(cls: 'final' | 'upload', owner: object, build: TaskBuilder, signal?: AbortSignal): Promise<JobResult> {
    return new Promise((resolve, reject) => {
      const job: Job = { cls, owner, build, resolve, reject, queuedAt: performance.now() };
      (cls === 'final' ? this.finals : this.uploads).push(job);
      if (cls === 'final') this.state(owner).finalsQueued++;
      signal?.addEventListener('abort', () => this.withdraw(job), { once: true });
      this.pump();
    });
  }

  private withdraw(job: Job): void {
    const queue = job.cls === 'final' ? this.finals : this.uploads;
    const at = queue.indexOf(job);
    if (at < 0) {
      job.abort?.abort();
      return;
    }
    queue.splice(at, 1);
    if (job.cls === 'final') {
      const state = this.state(job.owner);
      state.finalsQueued--;
      this.forget(job.owner, state);
    }
    job.resolve(null);
  }

  private pump(): void {
    for (let job = this.next(); job; job = this.next()) this.start(job);
    this.preemptForFinals();
  }

  private count(cls: JobClass): number {
    let n = 0;
    for (const job of this.running) if (job.cls === cls) n++;
    return n;
  }

  private hasSlot(cls: JobClass): boolean {
    const { slots, remoteFinals, uploads } = this.concurrency;
    if (cls === 'final' && remoteFinals !== undefined) return this.count('final') < remoteFinals;
    const local = remoteFinals === undefined ? this.running.size : this.running.size - this.count('final');
    if (local >= slots) return false;
    return cls !== 'upload' || this.count('upload') < uploads;
  }

  private runnableFinal(): number {
    return this.finals.findIndex((job) => !this.state(job.owner).runningFinal);
  }

  private runnablePartial(): Job | undefined {
    for (const [owner, job] of this.partials) {
      const state = this.state(owner);
      if (!state.runningPartial) return job;
    }
    return undefined;
  }

  private next(): Job | undefined {
    const finalAt = this.hasSlot('final') ? this.runnableFinal() : -1;
    if (finalAt >= 0) {
      const [job] = this.finals.splice(finalAt, 1) as [Job];
      const state = this.state(job.owner);
      state.finalsQueued--;
      state.runningFinal = job;
      return job;
    }
    const partial = this.hasSlot('partial') ? this.runnablePartial() : undefined;
    if (partial) {
      this.partials.delete(partial.owner);
      this.state(partial.owner).runningPartial = partial;
      return partial;
    }
    // Uploads only when no live work that could run is waiting for the slot.
    if (this.runnableFinal() >= 0 || this.runnablePartial()) return undefined;
    if (this.uploads.length > 0 && this.hasSlot('upload')) return this.uploads.shift();
    return undefined;
  }

  /** A final that waits for a slot that only partials hold takes the newest partial's slot. */
  private preemptForFinals(): void {
    if (this.concurrency.remoteFinals !== undefined || this.runnableFinal() < 0 || this.hasSlot('final')) return;
    let newest: Job | undefined;
    for (const job of this.running) if (job.cls === 'partial' && !job.preempted && (!newest || job.queuedAt > newest.queuedAt)) newest = job;
    if (!newest) return;
    newest.preempted = true;
    newest.abort?.abort();
  }

  private start(job: Job): void {
    let task: TranscriptionTask | null;
    try {
      task = job.build();
    } catch (error) {
      this.finish(job, () => job.reject(error));
      return;
    }
    if (!task) {
      this.finish(job, () => job.resolve(null));
      return;
    }
    const abort = new AbortController();
    job.abort = abort;
    job.preempted = false;
    this.running.add(job);
    const startedAt = performance.now();
    for (const observer of this.observers) observer.started(job.cls, startedAt - job.queuedAt);
    const ended = (end: JobEnd): void => {
      this.running.delete(job);
      for (const observer of this.observers) observer.finished(job.cls, performance.now() - startedAt, abort.signal.aborted ? 'aborted' : end);
    };
    this.runner.transcribe(task, abort.signal).then(
      (outcome) => {
        ended('done');
        this.finish(job, () => job.resolve(abort.signal.aborted ? null : outcome));
      },
      (error: unknown) => {
        ended('failed');
        this.finish(job, () => (abort.signal.aborted ? job.resolve(null) : job.reject(error)));
      },
    );
  }

  private finish(job: Job, settle: () => void): void {
    const state = this.state(job.owner);
    if (state.runningFinal === job) state.runningFinal = null;
    if (state.runningPartial === job) state.runningPartial = null;
    if (job.preempted && !this.partials.has(job.owner)) {
      // Back to the head of the line, rebuilt with the newest audio when it runs again. Not preempted any more: if
      // its builder then has nothing to do (its utterance ended), it is settled, not queued again for ever.
      const rest = [...this.partials];
      this.partials.clear();
      this.partials.set(job.owner, { ...job, abort: undefined, preempted: false, queuedAt: performance.now() });
      for (const [owner, queued] of rest) this.partials.set(owner, queued);
    } else if (job.preempted) {
      job.resolve(null);
    } else {
      this.forget(job.owner, state);
      settle();
    }
    // The owner's reaction to this result (a final's text becomes the next final's prompt) runs in promise
    // callbacks; starting the next job only after them lets its builder see that state.
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      setImmediate(() => {
        this.pumpScheduled = false;
        this.pump();
      });
    }
  }

  private forget(owner: object, state: OwnerState): void {
    if (!state.finalsQueued && !state.runningFinal && !state.runningPartial && !this.partials.has(owner)) this.owners.delete(owner);
  }

  private state(owner: object): OwnerState {
    let state = this.owners.get(owner);
    if (!state) {
      state = { finalsQueued: 0, runningFinal: null, runningPartial: null };
      this.owners.set(owner, state);
    }
    return state;
  }
}
