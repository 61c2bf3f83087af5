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

/** Told about every job the runner works on; for metrics. */
export interface SchedulerObserver {
  started(kind: 'final' | 'partial', waitedMs: number): void;
  finished(kind: 'final' | 'partial', runMs: number, end: JobEnd): void;
}

interface Job {
  kind: 'final' | 'partial';
  owner: object;
  build: TaskBuilder;
  resolve: (result: JobResult) => void;
  reject: (error: unknown) => void;
  queuedAt: number;
  /** Present while the job runs. */
  abort?: AbortController;
}

interface OwnerState {
  finalsQueued: number;
  runningFinal: Job | null;
  runningPartial: Job | null;
}

/**
 * How many jobs may run at once: one limit shared by both kinds when one runner does both, or a limit per kind when
 * finals run elsewhere (a remote server) and must not hold the slots that local partials need.
 */
export type Concurrency = number | { final: number; partial: number };

export interface SchedulerStats {
  running: number;
  queuedFinals: number;
  queuedPartials: number;
}

/**
 * Decides what the runner works on next, across all sessions. Work waits here rather than in the runner's own
 * queue, so priorities still apply when the runner is busy:
 * - finals before partials, finals in arrival order, one at a time per owner (each prompts with the one before);
 * - at most one partial running per owner, and a newer partial replaces that owner's queued one;
 * - an owner's partials wait while one of its finals is queued or running, so its messages stay in order.
 */
export class TranscriptionScheduler {
  private readonly finals: Job[] = [];
  /** Queued partials by owner; a replacement keeps its owner's place in line. */
  private readonly partials = new Map<object, Job>();
  private readonly owners = new Map<object, OwnerState>();
  private readonly running = { final: 0, partial: 0 };
  private pumpScheduled = false;

  constructor(
    private readonly runner: TranscriptionRunner,
    private readonly concurrency: Concurrency,
    private readonly observer?: SchedulerObserver,
  ) {}

  /** `signal` withdraws the final: dropped if still queued, aborted if running; either way it resolves with null. */
  final(owner: object, build: TaskBuilder, signal?: AbortSignal): Promise<JobResult> {
    return new Promise((resolve, reject) => {
      const job: Job = { kind: 'final', owner, build, resolve, reject, queuedAt: performance.now() };
      this.finals.push(job);
      this.state(owner).finalsQueued++;
      signal?.addEventListener('abort', () => this.withdraw(job), { once: true });
      this.pump();
    });
  }

  partial(owner: object, build: TaskBuilder): Promise<JobResult> {
    return new Promise((resolve, reject) => {
      this.partials.get(owner)?.resolve(null);
      this.partials.set(owner, { kind: 'partial', owner, build, resolve, reject, queuedAt: performance.now() });
      this.pump();
    });
  }

  /** Stops the owner's running partial, whose result nobody wants any more (its utterance ended); frees the worker. */
  abortPartial(owner: object): void {
    this.owners.get(owner)?.runningPartial?.abort?.abort();
  }

  private withdraw(job: Job): void {
    const at = this.finals.indexOf(job);
    if (at < 0) {
      job.abort?.abort();
      return;
    }
    this.finals.splice(at, 1);
    const state = this.state(job.owner);
    state.finalsQueued--;
    this.forget(job.owner, state);
    job.resolve(null);
  }

  /** Drops the owner's queued work and aborts its running work; all of it resolves with null. */
  cancel(owner: object): void {
    for (let i = this.finals.length - 1; i >= 0; i--) {
      const job = this.finals[i] as Job;
      if (job.owner !== owner) continue;
      this.finals.splice(i, 1);
      job.resolve(null);
    }
    this.partials.get(owner)?.resolve(null);
    this.partials.delete(owner);
    const state = this.owners.get(owner);
    if (!state) return;
    state.finalsQueued = 0;
    state.runningFinal?.abort?.abort();
    state.runningPartial?.abort?.abort();
  }

  get stats(): SchedulerStats {
    return { running: this.running.final + this.running.partial, queuedFinals: this.finals.length, queuedPartials: this.partials.size };
  }

  private pump(): void {
    for (let job = this.next(); job; job = this.next()) this.start(job);
  }

  private hasSlot(kind: Job['kind']): boolean {
    const limit = this.concurrency;
    if (typeof limit === 'number') return this.running.final + this.running.partial < limit;
    return this.running[kind] < limit[kind];
  }

  private next(): Job | undefined {
    const finalAt = this.hasSlot('final') ? this.finals.findIndex((job) => !this.state(job.owner).runningFinal) : -1;
    if (finalAt >= 0) {
      const [job] = this.finals.splice(finalAt, 1) as [Job];
      const state = this.state(job.owner);
      state.finalsQueued--;
      state.runningFinal = job;
      return job;
    }
    if (!this.hasSlot('partial')) return undefined;
    for (const [owner, job] of this.partials) {
      const state = this.state(owner);
      if (state.runningPartial || state.runningFinal || state.finalsQueued > 0) continue;
      this.partials.delete(owner);
      state.runningPartial = job;
      return job;
    }
    return undefined;
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
    this.running[job.kind]++;
    const startedAt = performance.now();
    this.observer?.started(job.kind, startedAt - job.queuedAt);
    const ended = (end: JobEnd): void => {
      this.running[job.kind]--;
      this.observer?.finished(job.kind, performance.now() - startedAt, abort.signal.aborted ? 'aborted' : end);
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
    this.forget(job.owner, state);
    settle();
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
