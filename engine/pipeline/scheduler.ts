/**
 * Decides what the runner works on next, across all sessions and uploads: earliest deadline first. Work waits here
 * rather than in the runner's own queue, so deadlines still order it when the runner is busy.
 * - Every live job carries the deadline its requirement gives it (a final: its span's audio plus 2 s; a partial: the
 *   stream's last partial plus its cadence); the runnable job with the earliest one starts first.
 * - Except that owners which used more than an equal share of the workers lately wait behind those that did
 *   not: a session that asks for far more work than real-time speech needs (a flood of flushes) delays its own work,
 *   not everyone's, and under overload the light users keep their deadlines.
 * - Finals run one at a time per owner, in the order they were asked for (each prompts with the one before). When
 *   every slot is busy and a final due before a running partial has less than PREEMPT_SLACK_MS left, it takes that
 *   partial's slot and the partial runs again later (sooner, waiting for a partial to finish costs the final little
 *   and saves the partial's work).
 * - Partials: at most one running and one queued per owner; a newer partial replaces the owner's queued one.
 * - File uploads last, at most `uploads` at a time, never ahead of live work that could run.
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
  /** `overdueMs`: how long after its deadline a job that ran to the end finished (0 when in time, or no deadline). */
  finished(kind: JobClass, runMs: number, end: JobEnd, overdueMs: number): void;
}

interface Job {
  cls: JobClass;
  owner: object;
  build: TaskBuilder;
  resolve: (result: JobResult) => void;
  reject: (error: unknown) => void;
  queuedAt: number;
  /** When the job's result is due (performance.now() time); Infinity for uploads. */
  deadline: number;
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

/** Worker time an owner used, decaying with this time constant: its recent share of the workers. */
const USAGE_TAU_MS = 5000;
/**
 * An owner is over its share past an equal share of the workers, once it has used this much lately (less says nothing).
 */
const MIN_USAGE_MS = 1000;
/** Added to the deadlines of owners over their share: more than any deadline differs by, so they come after. */
const OVER_SHARE_DELAY_MS = 1e9;
/** A final this close to its deadline no longer waits for a running partial to finish. */
const PREEMPT_SLACK_MS = 1000;

interface Usage {
  /** Decayed sum of worker ms, as of `at`. */
  ms: number;
  at: number;
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

/** A live job's options: when its result is due, and (finals) a signal that withdraws it. */
export interface LiveJob {
  deadline: number;
  signal?: AbortSignal;
}

export class TranscriptionScheduler {
  private readonly finals: Job[] = [];
  /** Queued partials by owner; a replacement keeps its owner's place in line. */
  private readonly partials = new Map<object, Job>();
  private readonly uploads: Job[] = [];
  private readonly owners = new Map<object, OwnerState>();
  private readonly running = new Set<Job>();
  private readonly usage = new Map<object, Usage>();
  /** Owners that asked for partials since takePartialOwners() last counted them. */
  private partialOwners = new Set<object>();
  private pumpScheduled = false;
  /** When a waiting final becomes urgent enough to preempt, if nothing else pumps before. */
  private preemptCheck: { at: number; timer: NodeJS.Timeout } | null = null;

  constructor(
    private readonly runner: TranscriptionRunner,
    private readonly concurrency: Concurrency,
    private readonly observers: SchedulerObserver[] = [],
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** `signal` withdraws the final: dropped if still queued, aborted if running; either way it resolves with null. */
  final(owner: object, build: TaskBuilder, job: LiveJob): Promise<JobResult> {
    return this.enqueue('final', owner, build, job.deadline, job.signal);
  }

  partial(owner: object, build: TaskBuilder, deadline: number): Promise<JobResult> {
    this.partialOwners.add(owner);
    return new Promise((resolve, reject) => {
      this.partials.get(owner)?.resolve(null);
      this.partials.set(owner, { cls: 'partial', owner, build, resolve, reject, queuedAt: this.now(), deadline });
      this.pump();
    });
  }

  /** A piece of a file upload; `signal` withdraws it like a final's. */
  upload(owner: object, build: TaskBuilder, signal?: AbortSignal): Promise<JobResult> {
    return this.enqueue('upload', owner, build, Number.POSITIVE_INFINITY, signal);
  }

  /** Stops the owner's running partial, whose result nobody wants any more (its segment ended); frees the worker. */
  abortPartial(owner: object): void {
    this.owners.get(owner)?.runningPartial?.abort?.abort();
  }

  /** Drops the owner's queued work and aborts its running work; all of it resolves with null. The owner is gone. */
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
    this.usage.delete(owner);
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
    return {
      running: this.running.size,
      queuedFinals: this.finals.length,
      queuedPartials: this.partials.size,
      queuedUploads: this.uploads.length,
    };
  }

  private enqueue(
    cls: 'final' | 'upload',
    owner: object,
    build: TaskBuilder,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<JobResult> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return resolve(null);
      const job: Job = { cls, owner, build, resolve, reject, queuedAt: this.now(), deadline };
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

  /** The next final of each owner that has none running: finals of one owner run in order. */
  private runnableFinals(): Job[] {
    const seen = new Set<object>();
    const runnable: Job[] = [];
    for (const job of this.finals) {
      if (seen.has(job.owner)) continue;
      seen.add(job.owner);
      if (!this.state(job.owner).runningFinal) runnable.push(job);
    }
    return runnable;
  }

  private runnablePartials(): Job[] {
    const runnable: Job[] = [];
    for (const [owner, job] of this.partials) if (!this.state(owner).runningPartial) runnable.push(job);
    return runnable;
  }

  /** The deadline a job is ordered by: its own, after everyone else's if its owner is over its share. */
  private priority(job: Job, fairShare: number): number {
    const usage = this.usage.get(job.owner);
    if (!usage) return job.deadline;
    const used = this.decayed(usage);
    return used >= MIN_USAGE_MS && used / USAGE_TAU_MS > fairShare ? job.deadline + OVER_SHARE_DELAY_MS : job.deadline;
  }

  /** The share of the workers each owner with live work is due when all of them want it. */
  private fairShare(): number {
    const owners = new Set<object>();
    for (const job of this.finals) owners.add(job.owner);
    for (const owner of this.partials.keys()) owners.add(owner);
    for (const job of this.running) if (job.cls !== 'upload') owners.add(job.owner);
    return this.concurrency.slots / Math.max(1, owners.size);
  }

  private earliest(jobs: Job[]): Job | undefined {
    const share = this.fairShare();
    let best: Job | undefined;
    let bestKey = Number.POSITIVE_INFINITY;
    for (const job of jobs) {
      const key = this.priority(job, share);
      // Ties go to finals (they come first in `jobs`), then to the job queued first.
      if (!best || key < bestKey) {
        best = job;
        bestKey = key;
      }
    }
    return best;
  }

  private next(): Job | undefined {
    const finals = this.hasSlot('final') ? this.runnableFinals() : [];
    const partials = this.hasSlot('partial') ? this.runnablePartials() : [];
    const job = this.earliest([...finals, ...partials]);
    if (job?.cls === 'final') {
      this.finals.splice(this.finals.indexOf(job), 1);
      const state = this.state(job.owner);
      state.finalsQueued--;
      state.runningFinal = job;
      return job;
    }
    if (job) {
      this.partials.delete(job.owner);
      this.state(job.owner).runningPartial = job;
      return job;
    }
    // Uploads only when no live work that could run is waiting for the slot.
    if (this.runnableFinals().length > 0 || this.runnablePartials().length > 0) return undefined;
    if (this.uploads.length > 0 && this.hasSlot('upload')) return this.uploads.shift();
    return undefined;
  }

  /**
   * A final that waits for a slot only partials hold, and is close to its deadline, takes the slot of the partial due
   * last, if due after it.
   */
  private preemptForFinals(): void {
    if (this.concurrency.remoteFinals !== undefined || this.hasSlot('final')) return;
    const final = this.earliest(this.runnableFinals());
    if (!final) return;
    if (final.deadline - this.now() > PREEMPT_SLACK_MS) {
      this.schedulePreemptCheck(final.deadline - PREEMPT_SLACK_MS);
      return;
    }
    const share = this.fairShare();
    let victim: Job | undefined;
    for (const job of this.running) {
      if (job.cls !== 'partial' || job.preempted) continue;
      if (!victim || this.priority(job, share) > this.priority(victim, share)) victim = job;
    }
    if (!victim || this.priority(victim, share) <= this.priority(final, share)) return;
    victim.preempted = true;
    victim.abort?.abort();
  }

  private schedulePreemptCheck(at: number): void {
    if (this.preemptCheck && this.preemptCheck.at <= at) return;
    if (this.preemptCheck) clearTimeout(this.preemptCheck.timer);
    const timer = setTimeout(
      () => {
        this.preemptCheck = null;
        this.pump();
      },
      Math.max(0, at - this.now()),
    );
    // A check due later keeps no process alive: by then the work is done or cancelled.
    timer.unref();
    this.preemptCheck = { at, timer };
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
    const startedAt = this.now();
    for (const observer of this.observers) observer.started(job.cls, startedAt - job.queuedAt);
    const ended = (end: JobEnd): void => {
      this.running.delete(job);
      const now = this.now();
      // Uploads run only on slots live work leaves free: they take no live owner's share.
      if (job.cls !== 'upload') this.charge(job.owner, now - startedAt, now);
      const outcome = abort.signal.aborted ? 'aborted' : end;
      const overdue = outcome === 'done' && Number.isFinite(job.deadline) ? Math.max(0, now - job.deadline) : 0;
      for (const observer of this.observers) observer.finished(job.cls, now - startedAt, outcome, overdue);
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

  private decayed(usage: Usage): number {
    return usage.ms * Math.exp(-(this.now() - usage.at) / USAGE_TAU_MS);
  }

  private charge(owner: object, ms: number, now: number): void {
    const usage = this.usage.get(owner);
    this.usage.set(owner, { ms: (usage ? this.decayed(usage) : 0) + ms, at: now });
  }

  private finish(job: Job, settle: () => void): void {
    const state = this.state(job.owner);
    if (state.runningFinal === job) state.runningFinal = null;
    if (state.runningPartial === job) state.runningPartial = null;
    if (job.preempted && !this.partials.has(job.owner)) {
      // Queued again with its deadline, rebuilt with the newest audio when it runs. Not preempted any more: if its
      // builder then has nothing to do (its segment ended), it is settled, not queued again for ever.
      this.partials.set(job.owner, { ...job, abort: undefined, preempted: false });
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
    if (!state.finalsQueued && !state.runningFinal && !state.runningPartial && !this.partials.has(owner))
      this.owners.delete(owner);
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
