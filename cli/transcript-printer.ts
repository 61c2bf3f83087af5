// How `transcribe` and `mic` print transcripts: a live status line on terminals, plain or JSON lines otherwise.
import type { Transcript } from '../client/index.js';

interface Output {
  write(text: string): boolean;
  isTTY?: boolean;
}

/**
 * Terminal output for streamed transcripts: on a terminal the newest partial rewrites one status line (with the
 * progress of the upload) and finals are printed above it; otherwise finals only, one per line. `json` prints every
 * transcript (partials and finals) and error as a JSON line for programs; session bookkeeping stays inside the client.
 */
export class TranscriptPrinter {
  private status = '';
  private percent = 0;

  constructor(
    private readonly json: boolean,
    private readonly out: Output,
    private readonly err: Output,
  ) {}

  partial(m: Transcript): void {
    if (this.json) {
      this.line(m);
      return;
    }
    this.status = m.text;
    this.redraw();
  }

  final(m: Transcript): void {
    if (this.json) {
      this.line(m);
      return;
    }
    this.clear();
    this.status = '';
    if (m.text) this.out.write(`${m.text}\n`);
    this.redraw();
  }

  error(code: string, message: string): void {
    if (this.json) {
      this.line({ type: 'error', code, message });
      return;
    }
    this.note(`error ${code}: ${message}`);
  }

  note(text: string): void {
    this.clear();
    this.err.write(`${text}\n`);
    this.redraw();
  }

  progress(fraction: number): void {
    this.percent = Math.round(fraction * 100);
    this.redraw();
  }

  done(): void {
    this.clear();
  }

  private line(value: unknown): void {
    this.out.write(`${JSON.stringify(value)}\n`);
  }

  private redraw(): void {
    if (this.json || !this.out.isTTY) return;
    const columns = (this.out as { columns?: number }).columns ?? 80;
    const text = `[${String(this.percent).padStart(3)}%] ${this.status}`;
    this.out.write(
      `\r\x1b[2K\x1b[90m${text.length > columns - 1 ? `…${text.slice(text.length - columns + 2)}` : text}\x1b[0m`,
    );
  }

  private clear(): void {
    if (!this.json && this.out.isTTY) this.out.write('\r\x1b[2K');
  }
}
