import type { TranscriptionOutcome, TranscriptionRunner, TranscriptionTask } from './types.js';

/**
 * Builds a task when the scheduler is about to run it, so a partial covers the newest audio at that moment and a
 * final can read state (the previous final's text) that only exists once earlier work is done. `null` skips it.
 */
export type TaskBuilder = () => TranscriptionTask | null;

/** `null`: the job never ran (replaced by a newer partial, cancelled, or its builder had nothing to do). */
export type JobResult = TranscriptionOutcome | null;

interface Job {
  kind: 'final' | 'partial';
  owner: object;
  build: TaskBuilder;
  resolve: (result: JobResult) => void;
  reject: (error: unknown) => void;
}

interface OwnerState {
  finalsQueued: number;
  finalRunning: boolean;
  partialRunning: boolean;
}

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
  private running = 0;

  constructor(
    private readonly runner: TranscriptionRunner,
    private readonly concurrency: number,
  ) {}

  final(owner: object, build: TaskBuilder): Promise<JobResult> {
    return new Promise((resolve, reject) => {
      this.finals.push({ kind: 'final', owner, build, resolve, reject });
      this.state(owner).finalsQueued++;
      this.pump();
    });
  }

  partial(owner: object, build: TaskBuilder): Promise<JobResult> {
    return new Promise((resolve, reject) => {
      this.partials.get(owner)?.resolve(null);
      this.partials.set(owner, { kind: 'partial', owner, build, resolve, reject });
      this.pump();
    });
  }

  /** Drops the owner's queued work (resolving it with null); running work finishes and is ignored by its owner. */
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
    if (state) {
      state.finalsQueued = 0;
      this.forget(owner, state);
    }
  }

  get stats(): SchedulerStats {
    return { running: this.running, queuedFinals: this.finals.length, queuedPartials: this.partials.size };
  }

  private pump(): void {
    while (this.running < this.concurrency) {
      const job = this.next();
      if (!job) return;
      this.start(job);
    }
  }

  private next(): Job | undefined {
    const finalAt = this.finals.findIndex((job) => !this.state(job.owner).finalRunning);
    if (finalAt >= 0) {
      const [job] = this.finals.splice(finalAt, 1) as [Job];
      const state = this.state(job.owner);
      state.finalsQueued--;
      state.finalRunning = true;
      return job;
    }
    for (const [owner, job] of this.partials) {
      const state = this.state(owner);
      if (state.partialRunning || state.finalRunning || state.finalsQueued > 0) continue;
      this.partials.delete(owner);
      state.partialRunning = true;
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
    this.running++;
    this.runner.transcribe(task).then(
      (outcome) => {
        this.running--;
        this.finish(job, () => job.resolve(outcome));
      },
      (error: unknown) => {
        this.running--;
        this.finish(job, () => job.reject(error));
      },
    );
  }

  private finish(job: Job, settle: () => void): void {
    const state = this.state(job.owner);
    if (job.kind === 'final') state.finalRunning = false;
    else state.partialRunning = false;
    this.forget(job.owner, state);
    settle();
    this.pump();
  }

  private state(owner: object): OwnerState {
    let state = this.owners.get(owner);
    if (!state) {
      state = { finalsQueued: 0, finalRunning: false, partialRunning: false };
      this.owners.set(owner, state);
    }
    return state;
  }

  private forget(owner: object, state: OwnerState): void {
    if (!state.finalsQueued && !state.finalRunning && !state.partialRunning && !this.partials.has(owner)) this.owners.delete(owner);
  }
}
