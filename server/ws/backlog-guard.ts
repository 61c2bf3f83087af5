/**
 * Keeps what one connection makes the server hold bounded when inference falls behind. Above `warnMs` of audio
 * awaiting finals the client is warned once per stretch (re-armed when the backlog falls under half of it); above
 * twice that the connection is no longer read, so TCP pushes back on the sender instead of the server buffering without
 * limit. Nothing is dropped: reading resumes once finals bring the backlog back under `warnMs`.
 */
import type { Logger } from '../log.js';
import type { ReadGate } from './read-gate.js';

const RECHECK_MS = 100;

export class BacklogGuard {
  private warned = false;
  private recheck: NodeJS.Timeout | null = null;

  constructor(
    private readonly gate: ReadGate,
    private readonly warnMs: number,
    private readonly log: () => Logger,
    /** Sends the `overloaded` warning in the connection's own protocol. */
    private readonly warn: (message: string) => void,
    private readonly paused: () => void,
  ) {}

  /** After audio went into the session: `pendingMs` is its audio awaiting finals. */
  check(pendingMs: () => number): void {
    const pending = pendingMs();
    if (this.warned) this.warned = pending > this.warnMs / 2;
    else if (pending > this.warnMs) {
      this.warned = true;
      this.log().warn('inference falling behind', { pendingMs: pending });
      this.warn(`the server is ${pending} ms of audio behind on finals; they will come, late. No audio was dropped.`);
    }
    if (pending <= 2 * this.warnMs || this.recheck) return;
    this.gate.pause('backlog');
    this.log().warn('reading paused until finals catch up', { pendingMs: pending });
    this.paused();
    this.recheck = setInterval(() => {
      if (pendingMs() > this.warnMs) return;
      this.stop();
    }, RECHECK_MS);
  }

  /** Reads the connection again and stops watching. */
  stop(): void {
    if (!this.recheck) return;
    clearInterval(this.recheck);
    this.recheck = null;
    this.gate.resume('backlog');
  }
}
