/**
 * Pings a socket every interval. A pong proves the peer is there and, since TCP delivers in order, that it has
 * received everything written before the ping: `delivered` gets the mark taken when that ping was sent. No pong
 * by the next ping means the peer is gone without a close frame (a dead network path): `dead` is called.
 */
export class Heartbeat<Mark> {
  private readonly timer: NodeJS.Timeout;
  private awaiting: { mark: Mark } | null = null;
  private held = false;

  constructor(
    socket: { ping(): void; onPong(handler: () => void): void },
    intervalMs: number,
    mark: () => Mark,
    delivered: (mark: Mark) => void,
    dead: () => void,
  ) {
    socket.onPong(() => {
      if (this.awaiting === null) return;
      const proven = this.awaiting;
      this.awaiting = null;
      delivered(proven.mark);
    });
    this.timer = setInterval(() => {
      if (this.held) return;
      if (this.awaiting !== null) {
        this.stop();
        dead();
        return;
      }
      this.awaiting = { mark: mark() };
      socket.ping();
    }, intervalMs);
  }

  /** While held, no pings and no verdicts: for a socket the server itself stopped reading. */
  hold(held: boolean): void {
    this.held = held;
    this.awaiting = null;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
