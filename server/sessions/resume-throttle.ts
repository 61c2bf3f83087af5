/**
 * Failed resumes per client (its principal, or its address without authentication): each failure costs the server a
 * look-up and, on /stream, a new session in its place, so a client guessing ids or tokens gets a few tries a minute.
 */

/**
 * Failed resumes a client may have in any minute; after that its resumes are refused until the oldest is a minute old.
 */
export const FAILED_RESUMES_PER_MINUTE = 10;
/** Clients remembered at once; past this the least recently failing are forgotten. */
const MAX_CLIENTS = 10_000;
const MINUTE_MS = 60_000;

export class ResumeThrottle {
  /** When each client's recent resumes failed, oldest first; clients by their latest failure, oldest first. */
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Seconds until `key` may try a resume again; 0 while it may. */
  waitS(key: string): number {
    this.forgetQuiet();
    const recent = this.recent(key);
    if (recent.length < FAILED_RESUMES_PER_MINUTE) return 0;
    return Math.max(1, Math.ceil(((recent[0] as number) + MINUTE_MS - this.now()) / 1000));
  }

  /** A resume by `key` failed through the client's own doing (no such session, wrong token, a seq it never got). */
  failed(key: string): void {
    const recent = [...this.recent(key), this.now()].slice(-FAILED_RESUMES_PER_MINUTE);
    this.failures.delete(key);
    this.failures.set(key, recent);
    while (this.failures.size > MAX_CLIENTS) this.failures.delete(this.failures.keys().next().value as string);
  }

  private recent(key: string): number[] {
    const since = this.now() - MINUTE_MS;
    return (this.failures.get(key) ?? []).filter((at) => at > since);
  }

  /** Clients whose latest failure is a minute old have nothing left to count. */
  private forgetQuiet(): void {
    const since = this.now() - MINUTE_MS;
    for (const [key, times] of this.failures) {
      if ((times.at(-1) ?? 0) > since) break;
      this.failures.delete(key);
    }
  }
}
