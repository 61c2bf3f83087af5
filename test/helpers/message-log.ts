/** Messages a client received, in order, with a wait for the first (already there or still to come) that matches. */
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

  waitFor(match: (message: M) => boolean): Promise<M> {
    const found = this.messages.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}
