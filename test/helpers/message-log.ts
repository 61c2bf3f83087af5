/** Messages a client received, in order, with a wait for the first (already there or still to come) that matches. */
import { WAIT_MS, described, shown, within, type WaitOptions } from '../../bench/lib/wait.js';

export class MessageLog<M> {
  readonly messages: M[] = [];
  private waiters: { match: (message: M) => boolean; resolve: (message: M) => void }[] = [];

  push(message: M): void {
    this.messages.push(message);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.match(message)) return true;
      waiter.resolve(message);
      return false;
    });
  }

  /** The first message that matches; fails after the timeout with the last message received. */
  waitFor(match: (message: M) => boolean, options: WaitOptions = {}): Promise<M> {
    const found = this.messages.find(match);
    if (found !== undefined) return Promise.resolve(found);
    const message = new Promise<M>((resolve) => this.waiters.push({ match, resolve }));
    return within(message, options.what ?? described(match), options.timeoutMs ?? WAIT_MS, () => this.lastSeen());
  }

  private lastSeen(): string {
    const last = this.messages.at(-1);
    return last === undefined ? 'no message' : `${shown(last)} (${this.messages.length} messages in all)`;
  }
}
