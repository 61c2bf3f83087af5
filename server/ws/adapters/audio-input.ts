/**
 * A drop-in protocol's audio as sessions take it: raw s16le PCM at the rate and channel count the client declared,
 * bounded per message, then mixed down and resampled to 16 kHz mono with one streaming resampler per connection.
 */
import { Resampler, TARGET_RATE } from '../../../engine/audio/resampler.js';
import { MAX_FRAME_MS } from '../../../engine/pipeline/index.js';
import { ProtocolError } from '../../../protocol/errors.js';

export class AudioInput {
  /** Null when the audio is 16 kHz mono already. */
  private readonly resampler: Resampler | null;
  private readonly frameBytes: number;
  private readonly maxBytes: number;

  constructor(
    readonly sampleRate: number,
    readonly channels: number,
  ) {
    this.resampler = sampleRate === TARGET_RATE && channels === 1 ? null : new Resampler(sampleRate, channels);
    this.frameBytes = 2 * channels;
    this.maxBytes = Math.floor((sampleRate * MAX_FRAME_MS) / 1000) * this.frameBytes;
  }

  /** 16 kHz mono s16le PCM of one binary message; throws ProtocolError (the message is dropped) when it is malformed. */
  convert(data: Uint8Array): Uint8Array {
    if (data.byteLength % this.frameBytes !== 0) {
      throw new ProtocolError('odd_frame_length', `audio must hold whole frames of ${this.channels} 16-bit sample(s) (${this.frameBytes} bytes); got ${data.byteLength} bytes, dropped`);
    }
    if (data.byteLength > this.maxBytes) {
      throw new ProtocolError('frame_too_large', `one message may carry at most ${MAX_FRAME_MS} ms of audio (${this.maxBytes} bytes at ${this.sampleRate} Hz, ${this.channels} channel(s)); got ${data.byteLength}, dropped`);
    }
    if (!this.resampler) return data;
    // Int16Array needs an even offset; a frame that arrived at an odd one is copied (a Buffer's slice() would not copy).
    const samples = data.byteOffset % 2 === 0 ? new Int16Array(data.buffer, data.byteOffset, data.byteLength / 2) : new Int16Array(new Uint8Array(data).buffer);
    const out = this.resampler.process(samples);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
}
