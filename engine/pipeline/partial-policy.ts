/**
 * When the open segment's next partial runs: once enough new audio has arrived since the last one to add words (the
 * partial interval, which the load controller widens under load), and less often while runs change nothing, up to
 * the cadence users are promised (a partial at least once a second of ongoing speech). That speech is going on is
 * the caller's to check: no partial runs in silence.
 */
export const PARTIAL_CADENCE_MS = 1000;
/**
 * Widest stretch of ongoing speech between shown partials when nothing changes: under the cadence by about a
 * partial's run time, so the promise holds where the client is, not only on the audio clock.
 */
export const PARTIAL_KEEPALIVE_MS = 800;
/** How much longer the wait grows after each run that showed nothing new. */
const BACKOFF = 1.5;

export class PartialPolicy {
  private backoff = 1;

  /** `intervalMs`: the current partial interval (the load controller's). */
  constructor(private readonly intervalMs: () => number) {}

  /** New audio a partial waits for after the previous one's end. */
  get waitMs(): number {
    const interval = this.intervalMs();
    return Math.max(interval, Math.min(interval * this.backoff, PARTIAL_KEEPALIVE_MS));
  }

  /** Whether `newAudioMs` of audio since the previous partial is enough for the next. */
  due(newAudioMs: number): boolean {
    return newAudioMs >= this.waitMs;
  }

  /** A partial ran to the end; `changed`: it had something new to show. */
  ran(changed: boolean): void {
    this.backoff = changed
      ? 1
      : Math.min(this.backoff * BACKOFF, PARTIAL_KEEPALIVE_MS / Math.max(1, this.intervalMs()));
  }

  /** A new turn begins: speech after a silence is news. */
  reset(): void {
    this.backoff = 1;
  }
}
