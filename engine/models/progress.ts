/**
 * Download progress on a stream: a redrawn bar on a terminal, plain lines at
 * a fixed interval otherwise (CI logs would fill with carriage returns).
 */

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  /** Milliseconds between plain lines when the stream is not a terminal. */
  lineIntervalMs?: number;
  /** Milliseconds between redraws on a terminal. */
  redrawIntervalMs?: number;
  now?: () => number;
}

const BAR_WIDTH = 24;

export class DownloadProgress {
  private readonly tty: boolean;
  private readonly interval: number;
  private readonly now: () => number;
  private startedAt = 0;
  private startBytes = 0;
  private lastShown = -Infinity;
  private current = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: ProgressStream,
    options: ProgressOptions = {},
  ) {
    this.tty = stream.isTTY === true;
    this.interval = this.tty ? (options.redrawIntervalMs ?? 100) : (options.lineIntervalMs ?? 5000);
    this.now = options.now ?? (() => performance.now());
  }

  /** `already`: bytes present before this transfer (a resumed .part), left out of the rate. */
  start(already: number): void {
    this.startedAt = this.now();
    this.startBytes = already;
    this.current = already;
    if (!this.tty) {
      const from = already > 0 ? ` resuming at ${mb(already)} MB` : '';
      this.stream.write(`${this.label}: downloading ${mb(this.total)} MB${from}\n`);
    }
    this.lastShown = this.startedAt;
  }

  update(bytes: number): void {
    this.current = bytes;
    const t = this.now();
    if (t - this.lastShown < this.interval) return;
    this.lastShown = t;
    this.show(t, false);
  }

  /** Final line; `ok` false leaves the last figures up without claiming completion. */
  finish(ok: boolean): void {
    this.show(this.now(), true, ok);
  }

  private show(t: number, final: boolean, ok = true): void {
    const fraction = this.total > 0 ? Math.min(1, this.current / this.total) : 0;
    const seconds = (t - this.startedAt) / 1000;
    const rate = seconds > 0 ? (this.current - this.startBytes) / 1e6 / seconds : 0;
    const figures =
      `${(fraction * 100).toFixed(1).padStart(5)}%  ${mb(this.current)}/${mb(this.total)} MB  ` +
      `${rate.toFixed(1)} MB/s`;
    if (this.tty) {
      const filled = Math.round(fraction * BAR_WIDTH);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
      this.stream.write(`\r${this.label} ${bar} ${figures}\x1b[K${final ? '\n' : ''}`);
    } else {
      const suffix = final ? (ok ? ' done' : ' stopped') : '';
      this.stream.write(`${this.label}: ${figures}${suffix}\n`);
    }
  }
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
