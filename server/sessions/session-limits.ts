/**
 * The two clocks that end a connected session: no audio for `idleMs`, and `maxSessionMs` after the session was
 * created (across resumes, so reconnecting does not extend it).
 */
export class SessionLimits {
  private idle: NodeJS.Timeout | null = null;
  private lifetime: NodeJS.Timeout | null = null;

  constructor(
    private readonly idleMs: number,
    private readonly maxSessionMs: number,
    private readonly onIdle: () => void,
    private readonly onMaxDuration: () => void,
  ) {}

  /** (Re)starts both clocks for a session created at `createdAt` (epoch ms). */
  start(createdAt: number): void {
    this.stop();
    this.touch();
    this.lifetime = setTimeout(this.onMaxDuration, Math.max(0, createdAt + this.maxSessionMs - Date.now()));
  }

  /** Audio arrived: the idle clock starts over. */
  touch(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(this.onIdle, this.idleMs);
  }

  stop(): void {
    if (this.idle) clearTimeout(this.idle);
    if (this.lifetime) clearTimeout(this.lifetime);
    this.idle = null;
    this.lifetime = null;
  }
}
