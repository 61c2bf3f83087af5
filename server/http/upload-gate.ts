/**
 * Bounds the file uploads in progress (running or waiting for a worker): in all, beyond which they get 503 with
 * Retry-After, and per principal (or address), beyond which they get 429. Live sessions always come first (the
 * scheduler runs uploads last); this keeps uploads from queueing without limit behind them.
 */
export type Admission = { ok: true; release: () => void } | { ok: false; status: 429 | 503; reason: string };

export class UploadGate {
  private total = 0;
  private readonly perKey = new Map<string, number>();

  constructor(
    /** Uploads in progress in all: those running plus those waiting. */
    private readonly capacity: number,
    private readonly perKeyLimit: number,
  ) {}

  /** Uploads in progress now, for /stats: a slot a client no longer uses must come back here. */
  get stats(): { inProgress: number } {
    return { inProgress: this.total };
  }

  admit(key: string): Admission {
    const mine = this.perKey.get(key) ?? 0;
    if (mine >= this.perKeyLimit) {
      return {
        ok: false,
        status: 429,
        reason: `at most ${this.perKeyLimit} uploads per client may be in progress; wait for one to finish`,
      };
    }
    if (this.total >= this.capacity)
      return {
        ok: false,
        status: 503,
        reason: 'the server has as many uploads in progress as it takes; try again shortly',
      };
    this.total++;
    this.perKey.set(key, mine + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const left = (this.perKey.get(key) ?? 1) - 1;
        if (left > 0) this.perKey.set(key, left);
        else this.perKey.delete(key);
      },
    };
  }
}
