/**
 * Degrade instead of falling behind. Estimates the demand on the transcription workers over what they can do
 * (load): the time finals and uploads kept them busy, plus the partials the speaking sessions want at the current
 * interval (sessions × mean partial cost ÷ interval). Above WIDEN_ABOVE, or when a final missed its deadline, it
 * widens the interval between partials (and with it their deadlines) for every session; below NARROW_BELOW, with no
 * final late, it narrows it again: partials thin out before finals slip, and every session keeps getting partials at
 * the same, reduced, cadence instead of some starving. At the widest interval with demand still above capacity, or
 * finals still late, it stops admitting new sessions.
 */
export interface LoadControllerOptions {
  /** The configured partial interval: the narrowest. */
  baseIntervalMs: number;
  /** The widest the interval may grow. */
  maxIntervalMs: number;
  /** Transcriptions that can run at once (the local worker slots). */
  capacity: number;
  now?: () => number;
}

export interface LoadSnapshot {
  /** Demand over capacity, smoothed: above 1 is more than the machine can do in real time. */
  load: number;
  partialIntervalMs: number;
  admitting: boolean;
}

export const WIDEN_ABOVE = 0.9;
export const NARROW_BELOW = 0.6;
const STEP = 1.25;
/** Weight of the newest measurement in the smoothed load. */
const SMOOTHING = 0.5;
/** Cost assumed for a partial until real runs have been seen. */
const INITIAL_PARTIAL_MS = 300;

export class LoadController {
  private readonly now: () => number;
  /** Finals and uploads running now, and the worker time they have taken since the last update. */
  private running = 0;
  private busyMs = 0;
  private lastEvent: number;
  private lastUpdate: number;
  private partialMs = INITIAL_PARTIAL_MS;
  private smoothed = 0;
  private interval: number;
  /** A final finished after its deadline since the last update. */
  private finalsLate = false;
  /** Updates in a row that saw a late final: lateness that outlasts one widening is overload. */
  private lateUpdates = 0;

  constructor(private readonly options: LoadControllerOptions) {
    this.now = options.now ?? (() => performance.now());
    this.lastEvent = this.lastUpdate = this.now();
    this.interval = options.baseIntervalMs;
  }

  get snapshot(): LoadSnapshot {
    return { load: this.smoothed, partialIntervalMs: this.partialIntervalMs, admitting: this.admitting };
  }

  get partialIntervalMs(): number {
    return Math.round(this.interval);
  }

  /** Whether a new session fits: not while demand exceeds capacity, or finals are late, even at the widest interval. */
  get admitting(): boolean {
    return !(this.interval >= this.options.maxIntervalMs && (this.smoothed > 1 || this.lateUpdates >= 2));
  }

  started(kind: 'final' | 'partial'): void {
    if (kind === 'partial') return;
    this.integrate();
    this.running++;
  }

  /** `overdueMs`: how long after its deadline the job finished (0: in time). */
  finished(kind: 'final' | 'partial', runMs: number, completed: boolean, overdueMs = 0): void {
    if (kind === 'final' && overdueMs > 0) this.finalsLate = true;
    if (kind === 'partial') {
      // Aborted partials say nothing about what a partial costs.
      if (completed) this.partialMs += 0.2 * (runMs - this.partialMs);
      return;
    }
    this.integrate();
    this.running = Math.max(0, this.running - 1);
  }

  /**
   * Measures the time since the last update and adjusts the interval; `speaking` is how many sessions wanted partials
   * in it.
   */
  update(speaking: number): LoadSnapshot {
    this.integrate();
    const now = this.now();
    const elapsed = now - this.lastUpdate;
    if (elapsed <= 0) return this.snapshot;
    const partialDemandMs = (speaking * this.partialMs * elapsed) / this.interval;
    const load = (this.busyMs + partialDemandMs) / (this.options.capacity * elapsed);
    this.busyMs = 0;
    this.lastUpdate = now;
    this.smoothed += SMOOTHING * (load - this.smoothed);
    this.lateUpdates = this.finalsLate ? this.lateUpdates + 1 : 0;
    if (this.smoothed > WIDEN_ABOVE || this.finalsLate)
      this.interval = Math.min(this.options.maxIntervalMs, this.interval * STEP);
    else if (this.smoothed < NARROW_BELOW) this.interval = Math.max(this.options.baseIntervalMs, this.interval / STEP);
    this.finalsLate = false;
    return this.snapshot;
  }

  private integrate(): void {
    const now = this.now();
    this.busyMs += this.running * (now - this.lastEvent);
    this.lastEvent = now;
  }
}
