/**
 * Band-limited conversion of PCM at any rate and channel count to 16 kHz mono s16: a Kaiser-windowed sinc low-pass
 * run as a polyphase filter, so nothing above the output's Nyquist frequency folds back into the speech band. Runs in
 * browsers too (the client library uses it): plain typed arrays, no Node APIs.
 */
export const TARGET_RATE = 16000;

/** Attenuation of everything that would alias, in dB; the passband ripple of such a filter is far below 0.01 dB. */
const STOPBAND_DB = 80;
/** The passband ends, and the stopband starts, at these fractions of the lower of the two Nyquist frequencies. */
const PASS_EDGE = 0.875;
const STOP_EDGE = 1.1;
/**
 * Phases of the filter kept as tables. Every usual rate needs at most 640 (11,025 Hz: 640/441); a rate whose ratio to
 * 16 kHz needs more reads between two of 1,024 tabled phases, linearly.
 */
const MAX_PHASES = 1024;

interface Filter {
  /** Output samples per `down` input samples, the reduced ratio. */
  up: number;
  down: number;
  taps: number;
  /** Phases tabled: `up` when exact, else MAX_PHASES (and one more row to read between). */
  phases: number;
  /** Row p holds the taps of phase p, oldest input first. */
  table: Float64Array;
}

const filters = new Map<number, Filter>();

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Zeroth-order modified Bessel function of the first kind, for the Kaiser window. */
function bessel0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

/** The filter for one input rate, designed once per process and shared by every stream at that rate. */
function filterFor(inputRate: number): Filter {
  const cached = filters.get(inputRate);
  if (cached) return cached;
  const divisor = gcd(TARGET_RATE, inputRate);
  const up = TARGET_RATE / divisor;
  const down = inputRate / divisor;
  // Edges in cycles per input sample.
  const nyquist = Math.min(inputRate, TARGET_RATE) / 2 / inputRate;
  const pass = PASS_EDGE * nyquist;
  const stop = STOP_EDGE * nyquist;
  const cutoff = (pass + stop) / 2;
  const beta = 0.1102 * (STOPBAND_DB - 8.7);
  // Kaiser's estimate of the length for this attenuation and transition width, in input samples; even, so the
  // filter's centre falls between two taps of phase 0 and the delay is a whole number of input samples.
  const taps = 2 * Math.ceil((STOPBAND_DB - 7.95) / (2.285 * 2 * Math.PI * (stop - pass)) / 2);
  const phases = Math.min(up, MAX_PHASES);
  const rows = phases === up ? phases : phases + 1;
  const table = new Float64Array(rows * taps);
  const centre = taps / 2 - 1;
  const window0 = bessel0(beta);
  for (let p = 0; p < rows; p++) {
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      // Tap k of phase p weighs the input sample this far from the output's instant (the kernel is symmetric).
      const x = k - centre - p / phases;
      const arg = 2 * cutoff * x;
      const sinc = arg === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
      const r = x / (taps / 2);
      const value = Math.abs(r) >= 1 ? 0 : (sinc * bessel0(beta * Math.sqrt(1 - r * r))) / window0;
      table[p * taps + k] = value;
      sum += value;
    }
    // Unity gain at DC for every phase: a constant stays constant, whatever the output's instant.
    for (let k = 0; k < taps; k++) table[p * taps + k] = (table[p * taps + k] as number) / sum;
  }
  const filter: Filter = { up, down, taps, phases, table };
  filters.set(inputRate, filter);
  return filter;
}

/**
 * Streaming conversion to 16 kHz mono s16: channels are averaged, then filtered. State carries across calls, so the
 * output of a stream cut into chunks is the same, sample for sample, as that of the whole. Output sample n is the
 * signal at input time n / 16000 s: the filter's delay is taken out, so its last few input samples wait for the next
 * chunk or for flush().
 */
export class Resampler {
  private readonly filter: Filter | null;
  /** Mono input not yet consumed, starting with the filter's history. */
  private pending: Float64Array;
  private pendingLength: number;
  /** Of the next output: its input sample (counted from pending[0]) and its phase, in 1/up of an input sample. */
  private index = 0;
  private phase = 0;

  constructor(
    readonly inputRate: number,
    readonly channels = 1,
  ) {
    if (!(inputRate > 0) || !Number.isInteger(inputRate) || !Number.isInteger(channels) || channels < 1) {
      throw new RangeError(
        'sample rate must be a positive whole number and channels a whole number >= 1 ' +
          `(got ${inputRate} Hz, ${channels})`,
      );
    }
    this.filter = inputRate === TARGET_RATE ? null : filterFor(inputRate);
    const history = this.filter ? this.filter.taps / 2 - 1 : 0;
    // Zeros before the first sample put output 0 at input time 0.
    this.pending = new Float64Array(Math.max(1024, 2 * (this.filter?.taps ?? 0)));
    this.pendingLength = history;
  }

  /** Converts the next chunk (Int16Array, or Float32Array in -1..1; interleaved when channels > 1). */
  process(input: Int16Array | Float32Array): Int16Array {
    if (!this.filter && this.channels === 1 && input instanceof Int16Array) return input.slice();
    this.append(input);
    return this.run(false);
  }

  /** The output still held back for the filter's look-ahead, as if the input went on with silence; the stream ends. */
  flush(): Int16Array {
    if (!this.filter) return new Int16Array(0);
    const out = this.run(true);
    this.pendingLength = 0;
    return out;
  }

  private append(input: Int16Array | Float32Array): void {
    const frames = Math.floor(input.length / this.channels);
    const scale = (input instanceof Int16Array ? 1 / 32768 : 1) / this.channels;
    const need = this.pendingLength + frames + (this.filter?.taps ?? 0);
    if (need > this.pending.length) {
      const grown = new Float64Array(Math.max(need, 2 * this.pending.length));
      grown.set(this.pending.subarray(0, this.pendingLength));
      this.pending = grown;
    }
    const out = this.pending;
    let at = this.pendingLength;
    if (this.channels === 1) {
      for (let i = 0; i < frames; i++) out[at++] = (input[i] as number) * scale;
    } else {
      for (let i = 0, j = 0; i < frames; i++) {
        let sum = 0;
        for (let c = 0; c < this.channels; c++) sum += input[j++] as number;
        out[at++] = sum * scale;
      }
    }
    this.pendingLength = at;
  }

  private run(final: boolean): Int16Array {
    const filter = this.filter;
    const pending = this.pending;
    if (!filter) {
      const out = new Int16Array(this.pendingLength);
      for (let i = 0; i < out.length; i++) out[i] = toInt16(pending[i] as number);
      this.pendingLength = 0;
      return out;
    }
    const { up, down, taps, phases, table } = filter;
    if (final) {
      // Silence after the end, enough for the filter to reach past the last sample.
      pending.fill(0, this.pendingLength, this.pendingLength + taps);
    }
    // An output needs `taps` inputs from its index (at the end, silence supplies those past the input).
    const end = final ? this.pendingLength + taps : this.pendingLength;
    // At the end, outputs stop at the last input sample's instant (pending[c] is input time 0 for c = taps / 2 - 1).
    const lastInstant = final ? this.pendingLength : Infinity;
    const capacity = Math.max(0, Math.ceil(((end - taps - this.index + 1) * up - this.phase) / down) + 1);
    const out = new Int16Array(capacity);
    let n = 0;
    let index = this.index;
    let phase = this.phase;
    const exact = phases === up;
    while (index + taps <= end && n < capacity) {
      if (index + taps / 2 - 1 + phase / up >= lastInstant) break;
      let sum = 0;
      if (exact) {
        sum = dot(table, phase * taps, pending, index, taps);
      } else {
        const position = (phase * phases) / up;
        const row0 = Math.floor(position);
        const weight = position - row0;
        const a = row0 * taps;
        const b = a + taps;
        for (let k = 0; k < taps; k++) {
          const coefficient = (table[a + k] as number) + weight * ((table[b + k] as number) - (table[a + k] as number));
          sum += coefficient * (pending[index + k] as number);
        }
      }
      out[n++] = toInt16(sum);
      phase += down;
      index += Math.floor(phase / up);
      phase %= up;
    }
    // Drop the inputs no later output needs.
    const keep = Math.min(index, this.pendingLength);
    pending.copyWithin(0, keep, this.pendingLength);
    this.pendingLength -= keep;
    this.index = index - keep;
    this.phase = phase;
    return n === out.length ? out : out.slice(0, n);
  }
}

/** Σ a[i + k] · b[j + k] for k < n (n even, as every filter's length is), two sums at once for speed. */
function dot(a: Float64Array, i: number, b: Float64Array, j: number, n: number): number {
  let even = 0;
  let odd = 0;
  for (let k = 0; k < n; k += 2) {
    even += (a[i + k] as number) * (b[j + k] as number);
    odd += (a[i + k + 1] as number) * (b[j + k + 1] as number);
  }
  return even + odd;
}

function toInt16(value: number): number {
  const scaled = Math.round(value * 32768);
  return Math.min(32767, Math.max(-32768, scaled));
}
