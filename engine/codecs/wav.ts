/**
 * RIFF/WAVE headers in every sample format WAV files commonly hold (8/16/24/32-bit integer PCM, 32/64-bit float,
 * G.711 mu-law and A-law, and the same under WAVE_FORMAT_EXTENSIBLE), read from a prefix of the file so a stream can
 * start before its end arrives. The chunks walked before the samples are bounded in number.
 */
import { MAX_WAV_CHUNKS } from '../audio/wav.js';
import { AudioDecodeError } from './errors.js';
import type { RawEncoding } from './raw-pcm.js';

export interface WavLayout {
  encoding: RawEncoding;
  sampleRate: number;
  channels: number;
  /** Where the samples start. */
  dataOffset: number;
  /** What the data chunk declares; null when it declares nothing usable (0 or 0xffffffff, as live writers put). */
  dataBytes: number | null;
}

const FORMAT = { pcm: 1, float: 3, alaw: 6, mulaw: 7, extensible: 0xfffe } as const;

function encodingOf(format: number, bits: number): RawEncoding | null {
  if (format === FORMAT.pcm)
    return bits === 8 ? 'pcm8' : bits === 16 ? 'linear16' : bits === 24 ? 'pcm24' : bits === 32 ? 'pcm32' : null;
  if (format === FORMAT.float) return bits === 32 ? 'linear32' : bits === 64 ? 'float64' : null;
  if (format === FORMAT.alaw && bits === 8) return 'alaw';
  if (format === FORMAT.mulaw && bits === 8) return 'mulaw';
  return null;
}

/** The layout of a WAV file from its first bytes, or null when they end before the data chunk starts. */
export function readWavLayout(data: Uint8Array): WavLayout | null {
  if (data.length < 12) return null;
  const tag = (offset: number): string => String.fromCharCode(...data.subarray(offset, offset + 4));
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE')
    throw new AudioDecodeError('bad_audio', 'not a WAV file (no RIFF/WAVE header)');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let format: { encoding: RawEncoding; channels: number; sampleRate: number } | null = null;
  let offset = 12;
  for (let chunks = 0; ; chunks++) {
    if (chunks === MAX_WAV_CHUNKS)
      throw new AudioDecodeError('bad_audio', `WAV file has more than ${MAX_WAV_CHUNKS} chunks before its data chunk`);
    if (offset + 8 > data.length) return null;
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'data') {
      if (!format) throw new AudioDecodeError('bad_audio', 'WAV data chunk comes before its fmt chunk');
      return { ...format, dataOffset: body, dataBytes: size === 0 || size === 0xffffffff ? null : size };
    }
    if (id === 'fmt ') {
      if (size < 16) throw new AudioDecodeError('bad_audio', 'WAV fmt chunk is truncated');
      if (body + 16 > data.length) return null;
      let code = view.getUint16(body, true);
      const bits = view.getUint16(body + 14, true);
      // WAVE_FORMAT_EXTENSIBLE names the real format in the first two bytes of its sub-format GUID.
      if (code === FORMAT.extensible) {
        if (size < 40) throw new AudioDecodeError('bad_audio', 'WAV extensible fmt chunk is truncated');
        if (body + 26 > data.length) return null;
        code = view.getUint16(body + 24, true);
      }
      const encoding = encodingOf(code, bits);
      if (!encoding)
        throw new AudioDecodeError(
          'unsupported_audio',
          `WAV sample format ${code} at ${bits} bits is not supported ` +
            '(PCM 8/16/24/32-bit, float 32/64-bit, mu-law and A-law are)',
        );
      format = { encoding, channels: view.getUint16(body + 2, true), sampleRate: view.getUint32(body + 4, true) };
      if (format.channels < 1 || format.sampleRate < 1)
        throw new AudioDecodeError('bad_audio', 'WAV header has no channels or no sample rate');
    }
    offset = body + size + (size % 2);
  }
}
