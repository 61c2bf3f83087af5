export const TARGET_RATE = 16000;

/**
 * Streaming conversion of PCM at any rate and channel count to 16 kHz mono s16: channels are averaged, then samples
 * linearly interpolated. The read position carries across calls, so chunk boundaries leave no clicks or drift.
 */
export class Resampler {
  private readonly step: number;
  private position = 0;
  private previous = 0;

  constructor(
    readonly inputRate: number,
    readonly channels = 1,
  ) {
    if (!(inputRate > 0) || !Number.isInteger(channels) || channels < 1) {
      throw new RangeError(`sample rate must be positive and channels a whole number >= 1 (got ${inputRate} Hz, ${channels})`);
    }
    this.step = inputRate / TARGET_RATE;
  }

  /** Converts the next chunk (Int16Array, or Float32Array in -1..1; interleaved when channels > 1). */
  process(input: Int16Array | Float32Array): Int16Array {
    const scale = input instanceof Int16Array ? 1 / 32768 : 1;
    const frames = Math.floor(input.length / this.channels);
    const frame = (i: number): number => {
      if (i < 0) return this.previous;
      let sum = 0;
      for (let c = 0; c < this.channels; c++) sum += input[i * this.channels + c] as number;
      return (sum / this.channels) * scale;
    };
    if (this.inputRate === TARGET_RATE && this.channels === 1 && input instanceof Int16Array) return input.slice();

    const out = new Int16Array(Math.max(0, Math.ceil((frames - 1 - this.position) / this.step)));
    let n = 0;
    for (; this.position < frames - 1 && n < out.length; this.position += this.step) {
      const i = Math.floor(this.position);
      const frac = this.position - i;
      const value = frame(i) * (1 - frac) + frame(i + 1) * frac;
      out[n++] = Math.max(-32768, Math.min(32767, Math.round(value * 32768)));
    }
    // Positions are relative to the chunk; the next chunk's index -1 is this chunk's last frame.
    this.position -= frames;
    if (frames > 0) this.previous = frame(frames - 1);
    return n === out.length ? out : out.subarray(0, n);
  }
}
