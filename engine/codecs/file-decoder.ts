/**
 * Whole audio files to 16 kHz mono s16, for uploads and the CLI: WAV (every format readWavLayout reads), MP3
 * (mpg123), FLAC, Ogg (Opus, Vorbis), WebM (Opus), each found from its first bytes whatever the file's name says.
 * Bounded as it goes: the file is fed to its decoder in pieces, and decoding stops as soon as the audio passes
 * `maxSeconds`. Decoders are WebAssembly builds of the reference libraries; nothing is downloaded or spawned.
 */
import { FLACDecoder } from '@wasm-audio-decoders/flac';
import { OggVorbisDecoder } from '@wasm-audio-decoders/ogg-vorbis';
import { MPEGDecoder } from 'mpg123-decoder';
import { Resampler, TARGET_RATE } from '../audio/resampler.js';
import { sniffContainer, type PcmBounds } from './container-stream.js';
import { AudioDecodeError } from './errors.js';
import { OggDemuxer } from './ogg.js';
import { OpusStream, opusPacketSamples, parseOpusHead } from './opus.js';
import { BYTES_PER_SAMPLE, RawPcmConverter } from './raw-pcm.js';
import { TO_WAV } from '../commands.js';
import { readWavLayout } from './wav.js';
import { WebmDemuxer } from './webm.js';

export interface FileLimits extends PcmBounds {
  maxSeconds: number;
}

export interface DecodedFile {
  /** 16 kHz mono s16. */
  pcm: Int16Array;
  /** What the file turned out to be, e.g. "mp3" or "ogg/opus". */
  format: string;
}

/** Input fed to a decoder at a time: its output stays small however well the codec compresses. */
const PIECE_BYTES = 64 * 1024;
/** Ogg header packets (OpusTags may carry cover art) are taken up to this size in files. */
const MAX_OGG_PACKET_BYTES = 16 * 1024 * 1024;
/** Packets of an Opus file decoded at once. */
const OPUS_BATCH = 50;

export const FILE_FORMATS = 'WAV, MP3, FLAC, Ogg (Opus or Vorbis) and WebM (Opus)';

/** 16 kHz mono PCM built up to a bound: past `maxSeconds` of audio it throws audio_too_long. */
class PcmSink {
  private buffer: Int16Array;
  private length = 0;
  private readonly max: number;

  constructor(private readonly maxSeconds: number) {
    this.max = maxSeconds * TARGET_RATE;
    this.buffer = new Int16Array(Math.min(this.max, 30 * TARGET_RATE));
  }

  push(pcm: Int16Array): void {
    if (this.length + pcm.length > this.max) {
      throw new AudioDecodeError(
        'audio_too_long',
        `the audio lasts longer than ${this.maxSeconds} s, the most this server takes`,
      );
    }
    if (this.length + pcm.length > this.buffer.length) {
      const grown = new Int16Array(Math.min(this.max, Math.max(this.length + pcm.length, 2 * this.buffer.length)));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(pcm, this.length);
    this.length += pcm.length;
  }

  result(format: string): DecodedFile {
    if (this.length === 0) throw new AudioDecodeError('empty_audio', 'the file holds no audio');
    return { pcm: this.buffer.slice(0, this.length), format };
  }
}

/** Planar float output of a WebAssembly decoder, mixed down and resampled into the sink. */
class PlanarInput {
  private resampler: Resampler | null = null;

  constructor(
    private readonly sink: PcmSink,
    private readonly limits: FileLimits,
  ) {}

  push(channelData: Float32Array[], samples: number, sampleRate: number): void {
    if (samples === 0) return;
    const { minRate, maxRate, maxChannels } = this.limits;
    if (sampleRate < minRate || sampleRate > maxRate)
      throw new AudioDecodeError('unsupported_audio', `audio at ${sampleRate} Hz; ${minRate}-${maxRate} Hz is taken`);
    if (channelData.length > maxChannels)
      throw new AudioDecodeError(
        'unsupported_audio',
        `audio with ${channelData.length} channels; at most ${maxChannels} are taken`,
      );
    if (this.resampler?.inputRate !== sampleRate) {
      if (this.resampler) this.sink.push(this.resampler.flush());
      this.resampler = new Resampler(sampleRate);
    }
    const mono = new Float32Array(samples);
    for (const channel of channelData)
      for (let i = 0; i < samples; i++) mono[i] = (mono[i] as number) + (channel[i] as number) / channelData.length;
    this.sink.push(this.resampler.process(mono));
  }

  end(): void {
    if (this.resampler) this.sink.push(this.resampler.flush());
  }
}

type Sniffed = 'wav' | 'ogg' | 'webm' | 'flac' | 'mp3' | 'mp4' | null;

function sniff(data: Uint8Array): Sniffed {
  const container = sniffContainer(data);
  if (container) return container;
  const ascii = (from: number, to: number): string => String.fromCharCode(...data.subarray(from, to));
  if (ascii(0, 4) === 'fLaC') return 'flac';
  if (ascii(4, 8) === 'ftyp') return 'mp4';
  // An ID3v2 tag, or an MPEG audio frame header (sync bits, then a layer that is not "reserved").
  if (ascii(0, 3) === 'ID3') return 'mp3';
  if (data[0] === 0xff && ((data[1] as number) & 0xe0) === 0xe0 && ((data[1] as number) & 0x06) !== 0) return 'mp3';
  return null;
}

/** Decodes a whole file; throws AudioDecodeError (only) for anything it cannot or may not take. */
export async function decodeAudioFile(data: Uint8Array, limits: FileLimits): Promise<DecodedFile> {
  try {
    return await decodeAny(data, limits);
  } catch (error) {
    if (error instanceof AudioDecodeError) throw error;
    // A decoder's own failure on a hostile file (a WebAssembly trap, a range error) is the file's fault.
    throw new AudioDecodeError(
      'bad_audio',
      `the file could not be decoded (${error instanceof Error ? error.message.slice(0, 120) : 'decoder error'})`,
    );
  }
}

async function decodeAny(data: Uint8Array, limits: FileLimits): Promise<DecodedFile> {
  const sink = new PcmSink(limits.maxSeconds);
  switch (sniff(data)) {
    case 'wav':
      return decodeWav(data, limits, sink);
    case 'ogg':
      return decodeOgg(data, limits, sink);
    case 'webm':
      return decodeWebm(data, sink);
    case 'flac':
      return decodeWith(new FLACDecoder(), data, limits, sink, 'flac');
    case 'mp3':
      return decodeWith(new MPEGDecoder(), data, limits, sink, 'mp3');
    case 'mp4':
      throw new AudioDecodeError(
        'unsupported_audio',
        `MP4/M4A audio (AAC) is not supported: no AAC decoder ships with this server; send ${FILE_FORMATS}, or ` +
          `${TO_WAV}`,
      );
    case null:
      throw new AudioDecodeError(
        'unsupported_audio',
        `the file is in no format this server reads; send ${FILE_FORMATS}, or ${TO_WAV}`,
      );
  }
}

function decodeWav(data: Uint8Array, limits: FileLimits, sink: PcmSink): DecodedFile {
  const layout = readWavLayout(data);
  if (!layout) throw new AudioDecodeError('bad_audio', 'the WAV file ends before its samples start');
  const { minRate, maxRate, maxChannels } = limits;
  if (layout.sampleRate < minRate || layout.sampleRate > maxRate) {
    throw new AudioDecodeError(
      'unsupported_audio',
      `the WAV file says ${layout.sampleRate} Hz; sample rates from ${minRate} to ${maxRate} Hz are taken`,
    );
  }
  if (layout.channels > maxChannels)
    throw new AudioDecodeError(
      'unsupported_audio',
      `the WAV file has ${layout.channels} channels; at most ${maxChannels} are taken`,
    );
  const frameBytes = BYTES_PER_SAMPLE[layout.encoding] * layout.channels;
  const available = data.length - layout.dataOffset;
  const bytes = Math.floor(Math.min(layout.dataBytes ?? available, available) / frameBytes) * frameBytes;
  // The length is known before anything is converted.
  if (bytes / frameBytes / layout.sampleRate > limits.maxSeconds) {
    throw new AudioDecodeError(
      'audio_too_long',
      `the audio lasts ${Math.round(bytes / frameBytes / layout.sampleRate)} s; ` +
        `at most ${limits.maxSeconds} s are taken`,
    );
  }
  const converter = new RawPcmConverter(layout.encoding, layout.sampleRate, layout.channels);
  const samples = data.subarray(layout.dataOffset, layout.dataOffset + bytes);
  const piece = Math.max(frameBytes, Math.floor(PIECE_BYTES / frameBytes) * frameBytes);
  for (let at = 0; at < samples.length; at += piece) sink.push(converter.push(samples.subarray(at, at + piece)));
  sink.push(converter.flush());
  return sink.result(layout.encoding === 'linear16' ? 'wav' : `wav/${layout.encoding}`);
}

interface WasmDecoded {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: { message: string }[];
}

interface WasmDecoder {
  ready: Promise<void>;
  decode(data: Uint8Array): WasmDecoded | Promise<WasmDecoded>;
  /** The frames a streaming decoder holds until it knows where they end (FLAC, Vorbis). */
  flush?(): Promise<WasmDecoded>;
  free(): void;
}

/** A streaming WebAssembly decoder fed piece by piece; a file it finds nothing to decode in is corrupt. */
async function decodeWith(
  decoder: WasmDecoder,
  data: Uint8Array,
  limits: FileLimits,
  sink: PcmSink,
  format: string,
): Promise<DecodedFile> {
  await decoder.ready;
  try {
    const input = new PlanarInput(sink, limits);
    let errors = 0;
    let decoded = 0;
    let firstError = '';
    const take = (out: WasmDecoded): void => {
      errors += out.errors.length;
      firstError ||= out.errors[0]?.message ?? '';
      decoded += out.samplesDecoded;
      input.push(out.channelData, out.samplesDecoded, out.sampleRate);
    };
    for (let at = 0; at < data.length; at += PIECE_BYTES)
      take(await decoder.decode(data.subarray(at, at + PIECE_BYTES)));
    if (decoder.flush) take(await decoder.flush());
    input.end();
    if (decoded === 0 && errors > 0)
      throw new AudioDecodeError('bad_audio', `the ${format.toUpperCase()} file could not be decoded (${firstError})`);
    return sink.result(format);
  } finally {
    decoder.free();
  }
}

async function decodeOgg(data: Uint8Array, limits: FileLimits, sink: PcmSink): Promise<DecodedFile> {
  // The first packet says the codec; it lies within the first page, whose size the format bounds.
  const first = new OggDemuxer(MAX_OGG_PACKET_BYTES).push(data.subarray(0, 65_307 + 27))[0];
  if (!first) throw new AudioDecodeError('bad_audio', 'the Ogg file ends before its first packet');
  const magic = String.fromCharCode(...first.subarray(0, 8));
  if (magic.startsWith('\x01vorbis')) return decodeWith(new OggVorbisDecoder(), data, limits, sink, 'ogg/vorbis');
  if (magic !== 'OpusHead')
    throw new AudioDecodeError('unsupported_audio', `Ogg holding neither Opus nor Vorbis; send ${FILE_FORMATS}`);
  const demuxer = new OggDemuxer(MAX_OGG_PACKET_BYTES);
  let stream: OpusStream | null = null;
  let headers = 0;
  for (let at = 0; at < data.length; at += PIECE_BYTES) {
    const packets = demuxer.push(data.subarray(at, at + PIECE_BYTES));
    while (headers < 2 && packets.length > 0) {
      const packet = packets.shift() as Uint8Array;
      if (headers++ === 0) {
        stream = new OpusStream(parseOpusHead(packet), Infinity);
        await stream.ready();
      }
    }
    await decodeOpus(stream, packets, sink);
  }
  return sink.result('ogg/opus');
}

async function decodeWebm(data: Uint8Array, sink: PcmSink): Promise<DecodedFile> {
  const demuxer = new WebmDemuxer();
  let stream: OpusStream | null = null;
  for (let at = 0; at < data.length; at += PIECE_BYTES) {
    const chunk = demuxer.push(data.subarray(at, at + PIECE_BYTES));
    if (chunk.track) {
      if (chunk.track.codec !== 'A_OPUS')
        throw new AudioDecodeError(
          'unsupported_audio',
          `WebM audio in ${chunk.track.codec || 'an unnamed codec'}; only Opus is read`,
        );
      stream = new OpusStream(
        chunk.track.codecPrivate
          ? parseOpusHead(chunk.track.codecPrivate)
          : { channels: chunk.track.channels, preSkip: 0 },
        Infinity,
      );
      await stream.ready();
    }
    await decodeOpus(stream, chunk.frames, sink);
  }
  return sink.result('webm/opus');
}

async function decodeOpus(stream: OpusStream | null, packets: Uint8Array[], sink: PcmSink): Promise<void> {
  if (packets.length === 0) return;
  if (!stream) throw new AudioDecodeError('bad_audio', 'Opus audio before its header');
  for (let at = 0; at < packets.length; at += OPUS_BATCH) {
    const batch = packets.slice(at, at + OPUS_BATCH);
    for (const packet of batch) opusPacketSamples(packet);
    sink.push(stream.decode(batch));
  }
  // Other work (an abort) gets its turn between pieces.
  await Promise.resolve();
}
