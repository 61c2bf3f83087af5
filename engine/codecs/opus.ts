/**
 * Opus as containers carry it (RFC 7845 in Ogg, A_OPUS in WebM): the OpusHead header, packet durations read from the
 * TOC byte before anything is decoded (RFC 6716 section 3), and decoding to 16 kHz mono with libopus (the
 * `opus-decoder` WebAssembly build). Decoders are made ready ahead of need, so a live stream decodes synchronously.
 */
import { OpusDecoder } from 'opus-decoder';
import { AudioDecodeError } from './errors.js';

/** Opus's own clock: durations and pre-skip are counted at 48 kHz whatever the decoder's output rate. */
export const OPUS_RATE = 48000;
const OUTPUT_RATE = 16000;
/** The decoder's input buffer (120 ms at 256 kbit/s); every real packet is far smaller. */
export const MAX_OPUS_PACKET_BYTES = 3840;
/** Ready decoders kept for streams that start: taking one is synchronous, making one is not (about 2 ms). */
const SPARE_DECODERS = 8;

export interface OpusHead {
  channels: number;
  /** Samples at 48 kHz the decoder's start-up produces, which are not audio. */
  preSkip: number;
}

/** Reads an OpusHead packet (RFC 7845 section 5.1); channel mapping family 0 (mono or stereo) only. */
export function parseOpusHead(packet: Uint8Array): OpusHead {
  const magic = String.fromCharCode(...packet.subarray(0, 8));
  if (packet.length < 19 || magic !== 'OpusHead')
    throw new AudioDecodeError('bad_audio', 'the Opus stream does not start with an OpusHead header');
  const version = packet[8] as number;
  if (version >> 4 !== 0)
    throw new AudioDecodeError('unsupported_audio', `OpusHead version ${version} is not one this server reads`);
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const channels = packet[9] as number;
  const family = packet[18] as number;
  if (channels < 1) throw new AudioDecodeError('bad_audio', 'OpusHead says 0 channels');
  if (family !== 0 || channels > 2) {
    throw new AudioDecodeError(
      'unsupported_audio',
      `Opus with ${channels} channels (mapping family ${family}) is not supported; send mono or stereo`,
    );
  }
  return { channels, preSkip: view.getUint16(10, true) };
}

const SILK_MS = [10, 20, 40, 60];
const CELT_MS = [2.5, 5, 10, 20];

/** The samples (at 48 kHz) an Opus packet holds, from its TOC byte; throws for a packet that cannot be one. */
export function opusPacketSamples(packet: Uint8Array): number {
  if (packet.length === 0) throw new AudioDecodeError('bad_audio', 'an empty Opus packet');
  if (packet.length > MAX_OPUS_PACKET_BYTES)
    throw new AudioDecodeError(
      'bad_audio',
      `an Opus packet of ${packet.length} bytes; at most ${MAX_OPUS_PACKET_BYTES} are taken`,
    );
  const toc = packet[0] as number;
  const config = toc >> 3;
  const frameMs =
    config < 12
      ? (SILK_MS[config & 3] as number)
      : config < 16
        ? config & 1
          ? 20
          : 10
        : (CELT_MS[config & 3] as number);
  const code = toc & 3;
  let frames = code === 0 ? 1 : code === 3 ? 0 : 2;
  if (code === 3) {
    if (packet.length < 2) throw new AudioDecodeError('bad_audio', 'a truncated Opus packet');
    frames = (packet[1] as number) & 0x3f;
  }
  const samples = (frames * frameMs * OPUS_RATE) / 1000;
  if (frames === 0 || samples > (120 * OPUS_RATE) / 1000)
    throw new AudioDecodeError('bad_audio', 'an Opus packet with no frames or more than 120 ms of them');
  return samples;
}

type MonoDecoder = OpusDecoder<16000>;
const newDecoder = (): MonoDecoder => new OpusDecoder({ sampleRate: OUTPUT_RATE, channels: 1 });

/** Decoders whose WebAssembly instance is ready. */
const spares: MonoDecoder[] = [];
let filling = 0;

function refill(): void {
  while (spares.length + filling < SPARE_DECODERS) {
    filling++;
    const decoder = newDecoder();
    decoder.ready.then(
      () => {
        filling--;
        spares.push(decoder);
      },
      () => {
        filling--;
      },
    );
  }
}

/** Loads libopus and readies the spare decoders; a server calls it at start so the first stream finds one ready. */
export async function prepareOpus(): Promise<void> {
  const decoder = newDecoder();
  await decoder.ready;
  spares.push(decoder);
  refill();
}

/**
 * One Opus stream decoded to 16 kHz mono s16 (stereo is mixed down by libopus). Packets that arrive before its decoder
 * is ready (when a burst of streams took every spare) wait, at most `maxWaitingSamples` of them (48 kHz), and come
 * out with the next call after it is: a few milliseconds later, so in practice with the stream's next message.
 */
export class OpusStream {
  private decoder: MonoDecoder | null = null;
  private readonly waiting: Uint8Array[] = [];
  private waitingSamples = 0;
  /** Output samples (16 kHz) still to drop for the header's pre-skip. */
  private skip: number;
  private readonly whenReady: Promise<void>;

  constructor(
    head: OpusHead,
    private readonly maxWaitingSamples: number,
  ) {
    this.skip = Math.round((head.preSkip * OUTPUT_RATE) / OPUS_RATE);
    const spare = spares.pop();
    refill();
    if (spare) {
      this.decoder = spare;
      this.whenReady = Promise.resolve();
    } else {
      const decoder = newDecoder();
      this.whenReady = decoder.ready.then(() => {
        this.decoder = decoder;
      });
    }
  }

  /** Decodes the packets (already checked with opusPacketSamples); throws AudioDecodeError for corrupt ones. */
  decode(packets: Uint8Array[]): Int16Array {
    const decoder = this.decoder;
    if (!decoder) {
      for (const packet of packets) {
        this.waitingSamples += opusPacketSamples(packet);
        if (this.waitingSamples > this.maxWaitingSamples)
          throw new AudioDecodeError('frame_too_large', 'too much Opus audio arrived before its decoder was ready');
        this.waiting.push(packet);
      }
      return new Int16Array(0);
    }
    const all = this.waiting.length > 0 ? [...this.waiting.splice(0), ...packets] : packets;
    this.waitingSamples = 0;
    if (all.length === 0) return new Int16Array(0);
    const decoded = decoder.decodeFrames(all);
    if (decoded.errors.length > 0)
      throw new AudioDecodeError(
        'bad_audio',
        `a corrupt Opus packet (${decoded.errors[0]?.message ?? 'libopus refused it'})`,
      );
    const mono = decoded.channelData[0] ?? new Float32Array(0);
    const from = Math.min(this.skip, mono.length);
    this.skip -= from;
    const out = new Int16Array(mono.length - from);
    for (let i = from; i < mono.length; i++) {
      const scaled = Math.round((mono[i] as number) * 32768);
      out[i - from] = Math.min(32767, Math.max(-32768, scaled));
    }
    return out;
  }

  /** Waits for the decoder (file decoding, where waiting costs nothing). */
  ready(): Promise<void> {
    return this.whenReady;
  }
}
