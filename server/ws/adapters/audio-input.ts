/**
 * A drop-in protocol's audio as sessions take it. Headerless audio (linear16, linear32, mu-law, A-law) at the rate and
 * channel count the client declared is bounded per message (whole frames, at most MAX_FRAME_MS) and converted with
 * one streaming band-limited resampler per connection. Audio in a container (Opus in WebM or Ogg, WAV), found from its
 * first bytes, is bounded per message at MAX_CONTAINER_MESSAGE_MS of audio, read from the packets' headers before
 * anything is decoded. Either way the session gets 16 kHz mono in commands of at most MAX_FRAME_MS.
 */
import { ContainerStream } from '../../../engine/codecs/container-stream.js';
import { AudioDecodeError } from '../../../engine/codecs/errors.js';
import { BYTES_PER_SAMPLE, RawPcmConverter, isNative } from '../../../engine/codecs/raw-pcm.js';
import { MAX_FRAME_MS, msToSamples } from '../../../engine/pipeline/index.js';
import { ProtocolError } from '../../../protocol/errors.js';
import { MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, type AudioFormat } from '../../../protocol/params.js';
import type { Command } from '../adapter.js';

/** Audio one message may carry in a container: a MediaRecorder chunk or a piece of a streamed file, decoded at once. */
export const MAX_CONTAINER_MESSAGE_MS = 5000;
const FRAME_SAMPLES = msToSamples(MAX_FRAME_MS);

export class AudioInput {
  /** Null for containers, and for audio that is 16 kHz mono linear16 already. */
  private readonly converter: RawPcmConverter | null = null;
  private readonly container: ContainerStream | null = null;
  private readonly frameBytes: number = 2;
  private readonly maxBytes: number = 0;

  constructor(readonly format: AudioFormat) {
    if (format.kind === 'container') {
      this.container = new ContainerStream(
        MAX_CONTAINER_MESSAGE_MS,
        { minRate: MIN_SAMPLE_RATE, maxRate: MAX_SAMPLE_RATE, maxChannels: MAX_CHANNELS },
        format.accepted,
      );
      return;
    }
    const { encoding, sampleRate, channels } = format;
    if (!isNative(encoding, sampleRate, channels)) this.converter = new RawPcmConverter(encoding, sampleRate, channels);
    this.frameBytes = BYTES_PER_SAMPLE[encoding] * channels;
    this.maxBytes = Math.floor((sampleRate * MAX_FRAME_MS) / 1000) * this.frameBytes;
  }

  /** The audio commands of one binary message; throws ProtocolError (the message is dropped) when it is malformed. */
  commands(data: Uint8Array): Command[] {
    return split(this.convert(data));
  }

  /** At the end of the stream: the audio a resampler held back for its filter's look-ahead (a millisecond or two). */
  end(): Command[] {
    const tail = this.container ? this.container.flush() : (this.converter?.flush() ?? new Int16Array(0));
    return split(bytesOf(tail));
  }

  private convert(data: Uint8Array): Uint8Array {
    if (this.container) {
      try {
        return bytesOf(this.container.push(data));
      } catch (error) {
        if (!(error instanceof AudioDecodeError)) throw error;
        throw new ProtocolError(error.code === 'frame_too_large' ? 'frame_too_large' : 'bad_audio', error.message);
      }
    }
    const format = this.format;
    if (format.kind !== 'raw') throw new Error('unreachable');
    if (data.byteLength % this.frameBytes !== 0) {
      throw new ProtocolError(
        'odd_frame_length',
        `audio must hold whole frames of ${format.channels} ${format.encoding} sample(s) (${this.frameBytes} bytes); ` +
          `got ${data.byteLength} bytes, dropped`,
      );
    }
    if (data.byteLength > this.maxBytes) {
      throw new ProtocolError(
        'frame_too_large',
        `one message may carry at most ${MAX_FRAME_MS} ms of audio (${this.maxBytes} bytes of ${format.encoding} ` +
          `at ${format.sampleRate} Hz, ${format.channels} channel(s)); got ${data.byteLength}, dropped`,
      );
    }
    return this.converter ? bytesOf(this.converter.push(data)) : data;
  }
}

const bytesOf = (pcm: Int16Array): Uint8Array => new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);

/** 16 kHz s16le as audio commands of at most MAX_FRAME_MS each, the most the binding takes at once. */
export function split(pcm: Uint8Array): Command[] {
  if (pcm.byteLength <= FRAME_SAMPLES * 2) return pcm.byteLength === 0 ? [] : [{ type: 'audio', pcm }];
  const commands: Command[] = [];
  for (let at = 0; at < pcm.byteLength; at += FRAME_SAMPLES * 2)
    commands.push({ type: 'audio', pcm: pcm.subarray(at, at + FRAME_SAMPLES * 2) });
  return commands;
}
