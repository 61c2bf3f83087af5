/**
 * Headerless audio as the drop-in protocols name it (linear16, linear32, mulaw, alaw) at any rate and channel count,
 * converted to 16 kHz mono s16 with a streaming band-limited resampler. A sample cut between two calls is kept for
 * the next.
 */
import { Resampler, TARGET_RATE } from '../audio/resampler.js';
import { expandG711 } from './g711.js';

/**
 * The protocols' names; the others occur in WAV files only (8-bit PCM is unsigned, the rest signed, all
 * little-endian).
 */
export type RawEncoding = 'linear16' | 'linear32' | 'mulaw' | 'alaw' | 'pcm8' | 'pcm24' | 'pcm32' | 'float64';

export const BYTES_PER_SAMPLE: Readonly<Record<RawEncoding, number>> = {
  linear16: 2,
  linear32: 4,
  mulaw: 1,
  alaw: 1,
  pcm8: 1,
  pcm24: 3,
  pcm32: 4,
  float64: 8,
};

export class RawPcmConverter {
  private readonly resampler: Resampler;
  private readonly frameBytes: number;
  private carry = new Uint8Array(0);

  constructor(
    readonly encoding: RawEncoding,
    readonly sampleRate: number,
    readonly channels: number,
  ) {
    this.resampler = new Resampler(sampleRate, channels);
    this.frameBytes = BYTES_PER_SAMPLE[encoding] * channels;
  }

  /** 16 kHz mono s16 of the next bytes. */
  push(bytes: Uint8Array): Int16Array {
    let data = bytes;
    if (this.carry.length > 0) {
      data = new Uint8Array(this.carry.length + bytes.length);
      data.set(this.carry, 0);
      data.set(bytes, this.carry.length);
    }
    const whole = data.length - (data.length % this.frameBytes);
    this.carry = data.slice(whole);
    if (whole === 0) return new Int16Array(0);
    return this.resampler.process(this.samples(data.subarray(0, whole)));
  }

  /** What the resampler held back for its look-ahead: the stream has ended. */
  flush(): Int16Array {
    return this.resampler.flush();
  }

  private samples(bytes: Uint8Array): Int16Array | Float32Array {
    switch (this.encoding) {
      case 'mulaw':
      case 'alaw':
        return expandG711(bytes, this.encoding);
      case 'linear16':
        // A typed array over a buffer needs an aligned offset; where there is none, a copy (new Uint8Array copies, a
        // Buffer's slice() would not).
        return bytes.byteOffset % 2 === 0
          ? new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2)
          : new Int16Array(new Uint8Array(bytes).buffer);
      case 'linear32':
        return bytes.byteOffset % 4 === 0
          ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)
          : new Float32Array(new Uint8Array(bytes).buffer);
      case 'float64':
        return Float32Array.from(new Float64Array(new Uint8Array(bytes).buffer));
      case 'pcm8':
        return Int16Array.from(bytes, (byte) => (byte - 128) << 8);
      case 'pcm24': {
        const out = new Int16Array(bytes.length / 3);
        // The top two bytes of each sample; the lowest is below 16-bit resolution.
        for (let i = 0; i < out.length; i++)
          out[i] = ((bytes[3 * i + 2] as number) << 8) | (bytes[3 * i + 1] as number);
        return out;
      }
      case 'pcm32': {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const out = new Float32Array(bytes.length / 4);
        for (let i = 0; i < out.length; i++) out[i] = view.getInt32(4 * i, true) / 2147483648;
        return out;
      }
    }
  }
}

/** Whether audio in this form is already what the engine takes. */
export const isNative = (encoding: RawEncoding, sampleRate: number, channels: number): boolean =>
  encoding === 'linear16' && sampleRate === TARGET_RATE && channels === 1;
