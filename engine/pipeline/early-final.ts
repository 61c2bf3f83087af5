/**
 * A final started at a pause, while the end-of-speech silence is still being waited out. If the utterance does end
 * there, its final is ready that much sooner; if speech resumes, or the utterance ends elsewhere, it is withdrawn
 * (dropped from the queue, or aborted on its worker).
 */
import type { JobResult } from './scheduler.js';

export class EarlyFinal {
  private readonly withdrawal = new AbortController();
  private readonly result: Promise<JobResult>;

  /** `start` submits the final with the signal that withdraws it. */
  constructor(
    readonly endSample: number,
    start: (signal: AbortSignal) => Promise<JobResult>,
  ) {
    this.result = start(this.withdrawal.signal);
    // A withdrawn early final's failure concerns nobody; an adopted one's is handled where it is adopted.
    this.result.catch(() => undefined);
  }

  /** The result, when the utterance ended where this final did; otherwise null and the final is withdrawn. */
  adopt(endSample: number): Promise<JobResult> | null {
    if (endSample === this.endSample) return this.result;
    this.withdraw();
    return null;
  }

  withdraw(): void {
    this.withdrawal.abort();
  }
}
