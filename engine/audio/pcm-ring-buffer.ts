import { endianness } from 'node:os';

/**
 * A fixed-size ring of 16-bit PCM addressed by absolute sample index (samples since the stream began).
 * Ingest copies bytes straight into the ring, so a frame costs no allocation however many samples it holds.
 */
export class PcmRingBuffer {
  readonly capacity: number;
  private readonly samples: Int16Array;
  private readonly bytes: Uint8Array;
  private total = 0;

  constructor(capacitySamples: number) {
    // Frames arrive as s16le bytes and are copied without swapping, which is only right on a little-endian host.
    if (endianness() !== 'LE') throw new Error('PcmRingBuffer needs a little-endian host');
    this.capacity = capacitySamples;
    this.samples = new Int16Array(capacitySamples);
    this.bytes = new Uint8Array(this.samples.buffer);
  }

  /** Absolute index one past the newest sample. */
  get written(): number {
    return this.total;
  }

  /** Absolute index of the oldest sample still held. */
  get oldest(): number {
    return Math.max(0, this.total - this.capacity);
  }

  /** Appends s16le PCM; `pcm.byteLength` must be even. Samples older than the capacity are overwritten. */
  write(pcm: Uint8Array): void {
    let src = pcm;
    const maxBytes = this.capacity * 2;
    if (src.byteLength > maxBytes) {
      this.total += (src.byteLength - maxBytes) / 2;
      src = src.subarray(src.byteLength - maxBytes);
    }
    const at = (this.total % this.capacity) * 2;
    const first = Math.min(src.byteLength, maxBytes - at);
    this.bytes.set(src.subarray(0, first), at);
    if (first < src.byteLength) this.bytes.set(src.subarray(first), 0);
    this.total += src.byteLength / 2;
  }

  /** Zero-copy views of samples [from, to): one, or two where the range wraps. */
  views(from: number, to: number): Int16Array[] {
    this.check(from, to);
    if (from === to) return [];
    const start = from % this.capacity;
    const end = start + (to - from);
    if (end <= this.capacity) return [this.samples.subarray(start, end)];
    return [this.samples.subarray(start), this.samples.subarray(0, end - this.capacity)];
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

  private check(from: number, to: number): void {
    if (!(this.oldest <= from && from <= to && to <= this.total)) {
      throw new RangeError(`samples [${from}, ${to}) are not in the buffer, which holds [${this.oldest}, ${this.total})`);
    }
  }
}
