/**
 * Live audio in a container, its format found in its first bytes as Deepgram does: Opus in Ogg or WebM (what
 * browsers' MediaRecorder makes) and WAV (any sample format readWavLayout reads). Out comes 16 kHz mono s16, call by
 * call. Each call is bounded before it is decoded: at most `maxCallMs` of audio (read from Opus packet headers, or
 * from the byte count of PCM); a stream that turns out corrupt fails for good, with the same error on every call.
 */
import { AudioDecodeError } from './errors.js';
import { OggDemuxer } from './ogg.js';
import {
  MAX_OPUS_PACKET_BYTES,
  OPUS_RATE,
  OpusStream,
  opusPacketSamples,
  parseOpusHead,
  type OpusHead,
} from './opus.js';
import { BYTES_PER_SAMPLE, RawPcmConverter } from './raw-pcm.js';
import { readWavLayout } from './wav.js';
import { WebmDemuxer } from './webm.js';

export type ContainerFormat = 'ogg' | 'webm' | 'wav';

/** What a WAV stream's header may say (the protocols' own bounds on raw audio). */
export interface PcmBounds {
  minRate: number;
  maxRate: number;
  maxChannels: number;
}

/** Audio kept while a stream's Opus decoder gets ready (only when a burst of streams took every ready one). */
const MAX_WAITING_MS = 10_000;
/** A header (WAV chunks, Ogg's OpusTags, WebM's Tracks) is kept whole until it is read, up to this many bytes. */
const MAX_HEADER_BYTES = 64 * 1024;

/** The container a stream or file is in, from its first four bytes; null when they name none of these. */
export function sniffContainer(head: Uint8Array): ContainerFormat | null {
  if (head.length < 4) return null;
  const magic = String.fromCharCode(...head.subarray(0, 4));
  if (magic === 'OggS') return 'ogg';
  if (magic === 'RIFF') return 'wav';
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return 'webm';
  return null;
}

interface Decoder {
  push(bytes: Uint8Array): Int16Array;
  /** What it holds back (a resampler's look-ahead) once the stream has ended. */
  flush(): Int16Array;
  /** Resolves once what it needs to decode is ready (an Opus decoder after a burst of new streams). */
  ready(): Promise<void>;
}

export class ContainerStream {
  private head = new Uint8Array(0);
  private decoder: Decoder | null = null;
  private failure: AudioDecodeError | null = null;
  /** The container found, once it is. */
  format: ContainerFormat | null = null;

  constructor(
    private readonly maxCallMs: number,
    private readonly bounds: PcmBounds,
    /** The containers this stream may be in (e.g. Opus only, when the client said encoding=opus). */
    private readonly accepted: readonly ContainerFormat[] = ['ogg', 'webm', 'wav'],
  ) {}

  /** The audio held back for a resampler's look-ahead: the stream has ended. */
  flush(): Int16Array {
    return this.failure || !this.decoder ? new Int16Array(0) : this.decoder.flush();
  }

  /** Resolves once audio already pushed can be decoded: what held back is then out with the next push. */
  ready(): Promise<void> {
    return this.decoder?.ready() ?? Promise.resolve();
  }

  /** 16 kHz mono s16 of the next bytes; throws AudioDecodeError when they cannot be audio of an accepted container. */
  push(bytes: Uint8Array): Int16Array {
    if (this.failure) throw this.failure;
    try {
      return this.decode(bytes);
    } catch (caught) {
      // A decoder's own failure on hostile input (a WebAssembly trap, a range error) is the stream's fault.
      const error =
        caught instanceof AudioDecodeError
          ? caught
          : new AudioDecodeError(
              'bad_audio',
              `undecodable audio (${caught instanceof Error ? caught.message.slice(0, 120) : 'decoder error'})`,
            );
      // One bounded call's worth too much ends only that call; anything else leaves the stream unreadable.
      if (error.code === 'frame_too_large') throw error;
      this.failure = new AudioDecodeError(error.code, `${error.message}; this stream cannot go on`);
      throw this.failure;
    }
  }

  private decode(bytes: Uint8Array): Int16Array {
    if (this.decoder) return this.decoder.push(bytes);
    const head = new Uint8Array(this.head.length + bytes.length);
    head.set(this.head, 0);
    head.set(bytes, this.head.length);
    this.head = head;
    if (head.length < 4) return new Int16Array(0);
    const format = sniffContainer(head);
    if (!format || !this.accepted.includes(format)) {
      const names = this.accepted
        .map((f) => (f === 'wav' ? 'WAV' : f === 'ogg' ? 'Ogg (Opus)' : 'WebM (Opus)'))
        .join(', ');
      throw new AudioDecodeError(
        'unsupported_audio',
        `the audio is in no container this endpoint reads (${names}); raw audio needs encoding and sample_rate`,
      );
    }
    this.format = format;
    if (format === 'wav') {
      const layout = readWavLayout(head);
      if (!layout) {
        if (head.length > MAX_HEADER_BYTES)
          throw new AudioDecodeError('bad_audio', `the WAV header is longer than ${MAX_HEADER_BYTES} bytes`);
        return new Int16Array(0);
      }
      const { minRate, maxRate, maxChannels } = this.bounds;
      if (layout.sampleRate < minRate || layout.sampleRate > maxRate || layout.channels > maxChannels) {
        throw new AudioDecodeError(
          'unsupported_audio',
          `WAV of ${layout.sampleRate} Hz and ${layout.channels} channel(s); ` +
            `${minRate}-${maxRate} Hz and at most ${maxChannels} channels are taken`,
        );
      }
      this.decoder = new PcmDecoder(
        new RawPcmConverter(layout.encoding, layout.sampleRate, layout.channels),
        this.maxCallMs,
        layout.dataBytes,
      );
    } else this.decoder = new OpusDecoderOf(format, this.maxCallMs);
    this.head = new Uint8Array(0);
    const wavBody = format === 'wav' ? (readWavLayout(head)?.dataOffset ?? 0) : 0;
    return this.decoder.push(head.subarray(wavBody));
  }
}

class PcmDecoder implements Decoder {
  private readonly maxBytes: number;

  constructor(
    private readonly converter: RawPcmConverter,
    maxCallMs: number,
    /** Bytes of samples the header declares; what follows them (other chunks) is not audio. Null: no end declared. */
    private left: number | null,
  ) {
    this.maxBytes =
      Math.ceil((converter.sampleRate * maxCallMs) / 1000) * converter.channels * BYTES_PER_SAMPLE[converter.encoding];
  }

  push(bytes: Uint8Array): Int16Array {
    if (bytes.length > this.maxBytes)
      throw new AudioDecodeError(
        'frame_too_large',
        `one message may carry at most ${this.maxBytes} bytes of this WAV stream's audio`,
      );
    const audio = this.left === null ? bytes : bytes.subarray(0, this.left);
    if (this.left !== null) this.left -= audio.length;
    return this.converter.push(audio);
  }

  flush(): Int16Array {
    return this.converter.flush();
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }
}

/** Opus in Ogg or WebM: demuxed, its packets' durations checked against the bound, then decoded. */
class OpusDecoderOf implements Decoder {
  private readonly ogg: OggDemuxer | null;
  private readonly webm: WebmDemuxer | null;
  private stream: OpusStream | null = null;
  /** Ogg's second header packet, OpusTags, is still to come. */
  private tagsDue = false;

  constructor(
    format: 'ogg' | 'webm',
    private readonly maxCallMs: number,
  ) {
    this.ogg = format === 'ogg' ? new OggDemuxer(MAX_HEADER_BYTES) : null;
    this.webm = format === 'webm' ? new WebmDemuxer() : null;
  }

  push(bytes: Uint8Array): Int16Array {
    const packets = this.packets(bytes);
    if (packets.length === 0) return new Int16Array(0);
    let samples = 0;
    for (const packet of packets) samples += opusPacketSamples(packet);
    const maxSamples = (this.maxCallMs * OPUS_RATE) / 1000;
    if (samples > maxSamples) {
      throw new AudioDecodeError(
        'frame_too_large',
        `one message may carry at most ${this.maxCallMs} ms of Opus audio; ` +
          `this one held ${Math.round(samples / 48)} ms`,
      );
    }
    if (!this.stream) throw new AudioDecodeError('bad_audio', 'Opus audio before its header');
    return this.stream.decode(packets);
  }

  private packets(bytes: Uint8Array): Uint8Array[] {
    if (this.webm) {
      const chunk = this.webm.push(bytes);
      if (chunk.track) {
        if (chunk.track.codec !== 'A_OPUS')
          throw new AudioDecodeError(
            'unsupported_audio',
            `WebM audio in ${chunk.track.codec || 'an unnamed codec'}; only Opus (A_OPUS) is read`,
          );
        this.start(
          chunk.track.codecPrivate
            ? parseOpusHead(chunk.track.codecPrivate)
            : { channels: chunk.track.channels, preSkip: 0 },
        );
      }
      return chunk.frames;
    }
    const packets = (this.ogg as OggDemuxer).push(bytes);
    if (!this.stream && packets.length > 0) {
      this.start(parseOpusHead(packets.shift() as Uint8Array));
      this.tagsDue = true;
    }
    if (this.tagsDue && packets.length > 0) {
      const tags = packets.shift() as Uint8Array;
      if (String.fromCharCode(...tags.subarray(0, 8)) !== 'OpusTags')
        throw new AudioDecodeError('bad_audio', 'the Ogg Opus stream has no OpusTags header');
      this.tagsDue = false;
    }
    for (const packet of packets)
      if (packet.length > MAX_OPUS_PACKET_BYTES)
        throw new AudioDecodeError('bad_audio', 'an Opus packet larger than any encoder makes');
    return packets;
  }

  ready(): Promise<void> {
    return this.stream?.ready() ?? Promise.resolve();
  }

  /** Opus decodes at 16 kHz itself: nothing is held back. */
  flush(): Int16Array {
    return new Int16Array(0);
  }

  private start(head: OpusHead): void {
    // Packets that come before the decoder is ready (a burst of new streams) wait, up to a few calls' worth.
    this.stream = new OpusStream(head, (MAX_WAITING_MS * OPUS_RATE) / 1000);
  }
}
