/**
 * Whether a connection is read: paused while any reason holds (finals too far behind, audio sent faster than allowed,
 * an utterance-ending message waiting its turn, the connection closed for a limit), read again once none does. While
 * paused no pings are judged either: the peer is not dead, the server is busy.
 */
export type PauseReason = 'backlog' | 'pacing' | 'flushes' | 'closing';

export class ReadGate {
  private readonly reasons = new Set<PauseReason>();

  constructor(
    private readonly transport: { pause(): void; resume(): void },
    private readonly held: (held: boolean) => void,
  ) {}

  get paused(): boolean {
    return this.reasons.size > 0;
  }

  pause(reason: PauseReason): void {
    if (this.reasons.has(reason)) return;
    if (this.reasons.size === 0) {
      this.transport.pause();
      this.held(true);
    }
    this.reasons.add(reason);
  }

  resume(reason: PauseReason): void {
    if (!this.reasons.delete(reason) || this.reasons.size > 0) return;
    this.held(false);
    this.transport.resume();
  }
}
