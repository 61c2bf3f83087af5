/** Frames remembered: at 20 ms frames about 80 s of audio, far more than any transcript looks back. */
const CAPACITY = 4096;

/**
 * When each received frame arrived, by audio position, so a transcript's latency can be measured from the moment
 * the audio it covers reached the server. Fixed-size arrays: recording a frame allocates nothing.
 */
export class ArrivalClock {
  private readonly ends = new Float64Array(CAPACITY);
  private readonly times = new Float64Array(CAPACITY);
  private count = 0;

  /** The audio up to sample `endSample` (exclusive) has arrived now. */
  mark(endSample: number, now: number): void {
    const at = this.count % CAPACITY;
    this.ends[at] = endSample;
    this.times[at] = now;
    this.count++;
  }

  /** Arrival time of the frame holding sample `sample - 1`; undefined if it is older than the clock remembers. */
  arrivalOf(sample: number): number | undefined {
    const oldest = Math.max(0, this.count - CAPACITY);
    let found: number | undefined;
    // Transcripts ask about recent audio, so walking back from the newest frame is short.
    for (let i = this.count - 1; i >= oldest; i--) {
      const at = i % CAPACITY;
      if ((this.ends[at] as number) < sample) break;
      found = this.times[at];
    }
    if (found !== undefined && oldest > 0 && (this.ends[oldest % CAPACITY] as number) >= sample) return undefined;
    return found;
  }
}
