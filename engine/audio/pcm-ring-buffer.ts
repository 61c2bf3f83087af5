import { endianness } from 'node:os';

/** What a ring holds at first; it grows (doubling) towards its capacity only as audio arrives. */
const INITIAL_SAMPLES = 32_000;

/**
 * A ring of 16-bit PCM of up to `capacity` samples, addressed by absolute sample index (samples since the stream
 * began). Ingest copies bytes straight into the ring, so a frame costs no allocation however many samples it holds.
 * It starts small and grows only while the stream is younger than its capacity: a session that sent a second of
 * audio holds a second's memory, not the 25 s a long utterance may need.
 */
export class PcmRingBuffer {
  readonly capacity: number;
  private samples: Int16Array;
  private bytes: Uint8Array;
  private total = 0;

  constructor(capacitySamples: number) {
    // Frames arrive as s16le bytes and are copied without swapping, which is only right on a little-endian host.
    if (endianness() !== 'LE') throw new Error('PcmRingBuffer needs a little-endian host');
    this.capacity = capacitySamples;
    this.samples = new Int16Array(Math.min(capacitySamples, INITIAL_SAMPLES));
    this.bytes = new Uint8Array(this.samples.buffer);
  }

  /** Absolute index one past the newest sample. */
  get written(): number {
    return this.total;
  }

  /** Absolute index of the oldest sample still held. */
  get oldest(): number {
    return Math.max(0, this.total - this.samples.length);
  }

  /** Appends s16le PCM; `pcm.byteLength` must be even. Samples older than the capacity are overwritten. */
  write(pcm: Uint8Array): void {
    const n = pcm.byteLength / 2;
    if (this.samples.length < this.capacity && this.total + n > this.samples.length) this.grow(this.total + n);
    let src = pcm;
    const size = this.samples.length;
    const maxBytes = size * 2;
    if (src.byteLength > maxBytes) {
      this.total += (src.byteLength - maxBytes) / 2;
      src = src.subarray(src.byteLength - maxBytes);
    }
    const at = (this.total % size) * 2;
    const first = Math.min(src.byteLength, maxBytes - at);
    this.bytes.set(src.subarray(0, first), at);
    if (first < src.byteLength) this.bytes.set(src.subarray(first), 0);
    this.total += src.byteLength / 2;
  }

  /** Zero-copy views of samples [from, to): one, or two where the range wraps. */
  views(from: number, to: number): Int16Array[] {
    this.check(from, to);
    if (from === to) return [];
    const size = this.samples.length;
    const start = from % size;
    const end = start + (to - from);
    if (end <= size) return [this.samples.subarray(start, end)];
    return [this.samples.subarray(start), this.samples.subarray(0, end - size)];
  }

  /** Samples [from, to) in a new buffer of their own, ready to transfer to another thread. */
  copy(from: number, to: number): Int16Array {
    const out = new Int16Array(to - from);
    let offset = 0;
    for (const view of this.views(from, to)) {
      out.set(view, offset);
      offset += view.length;
    }
    return out;
  }

  /**
   * Until it first fills, the ring has not wrapped: its samples sit at their absolute indices and copy over as they
   * are.
   */
  private grow(needed: number): void {
    const size = Math.min(this.capacity, Math.max(needed, this.samples.length * 2));
    const grown = new Int16Array(size);
    grown.set(this.samples.subarray(0, this.total));
    this.samples = grown;
    this.bytes = new Uint8Array(grown.buffer);
  }

  private check(from: number, to: number): void {
    if (!(this.oldest <= from && from <= to && to <= this.total)) {
      throw new RangeError(
        `samples [${from}, ${to}) are not in the buffer, which holds [${this.oldest}, ${this.total})`,
      );
    }
  }
}
