import { readFileSync } from 'node:fs';

export interface WavAudio {
  sampleRate: number;
  channels: number;
  /** Interleaved 16-bit samples. */
  samples: Int16Array;
  durationMs: number;
}

export class WavFormatError extends Error {
  readonly code = 'BAD_WAV';
}

/**
 * Chunks a header may have before its samples. Real files carry a handful (fmt, fact, LIST, bext, iXML, JUNK); a
 * file of millions of empty chunks would otherwise cost a walk over each of them before anything is refused.
 */
export const MAX_WAV_CHUNKS = 64;

/** Where a WAV file's samples are and what they are, read from its header alone. */
export interface WavHeader {
  sampleRate: number;
  channels: number;
  /** Byte offset and length of the sample data (the length clipped to the file). */
  dataOffset: number;
  dataBytes: number;
  durationMs: number;
}

/**
 * Reads the header of a RIFF/WAVE file of 16-bit PCM without touching its samples, so limits on rate, channels and
 * length can be checked before any work. Other encodings are refused with a message that says what was found.
 */
export function readWavHeader(data: Uint8Array): WavHeader {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const tag = (offset: number): string => String.fromCharCode(...data.subarray(offset, offset + 4));
  if (data.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE')
    throw new WavFormatError('not a WAV file (no RIFF/WAVE header)');

  let format: { audioFormat: number; channels: number; sampleRate: number; bits: number } | undefined;
  let offset = 12;
  for (let chunks = 0; offset + 8 <= data.byteLength; chunks++) {
    if (chunks === MAX_WAV_CHUNKS) {
      throw new WavFormatError(`WAV file has more than ${MAX_WAV_CHUNKS} chunks before its data chunk`);
    }
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > data.byteLength) throw new WavFormatError('WAV fmt chunk is truncated');
      format = {
        audioFormat: view.getUint16(body, true),
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!format) throw new WavFormatError('WAV data chunk comes before its fmt chunk');
      // 0xfffe is WAVE_FORMAT_EXTENSIBLE, which carries plain PCM too.
      if ((format.audioFormat !== 1 && format.audioFormat !== 0xfffe) || format.bits !== 16) {
        throw new WavFormatError(
          `WAV must be 16-bit PCM; this one is format ${format.audioFormat} at ${format.bits} bits`,
        );
      }
      if (format.channels < 1 || format.sampleRate < 1)
        throw new WavFormatError('WAV header has no channels or no sample rate');
      const frameBytes = 2 * format.channels;
      const dataBytes = Math.floor((Math.min(body + size, data.byteLength) - body) / frameBytes) * frameBytes;
      return {
        sampleRate: format.sampleRate,
        channels: format.channels,
        dataOffset: body,
        dataBytes,
        durationMs: (dataBytes / frameBytes / format.sampleRate) * 1000,
      };
    }
    offset = body + size + (size % 2);
  }
  throw new WavFormatError('WAV file has no data chunk');
}

/** Parses a RIFF/WAVE file of 16-bit PCM (see readWavHeader for what is refused). */
export function parseWav(data: Uint8Array): WavAudio {
  const header = readWavHeader(data);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const samples = new Int16Array(header.dataBytes / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(header.dataOffset + 2 * i, true);
  return { sampleRate: header.sampleRate, channels: header.channels, samples, durationMs: header.durationMs };
}

export function readWav(path: string): WavAudio {
  return parseWav(readFileSync(path));
}

/** Reads a WAV file that must already be 16 kHz mono, as the engine takes it. */
export function readWav16kMono(path: string): Int16Array {
  const wav = readWav(path);
  if (wav.sampleRate !== 16000 || wav.channels !== 1) {
    throw new WavFormatError(
      `${path} is ${wav.sampleRate} Hz with ${wav.channels} channel(s); 16000 Hz mono is needed`,
    );
  }
  return wav.samples;
}

/** A RIFF/WAVE file of 16-bit PCM holding `samples` (interleaved when channels > 1). */
export function encodeWav(samples: Int16Array, sampleRate = 16000, channels = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(44 + samples.byteLength);
  const view = new DataView(out.buffer);
  const ascii = (offset: number, text: string): void => {
    for (let i = 0; i < text.length; i++) out[offset + i] = text.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + samples.byteLength, true);
  ascii(8, 'WAVEfmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * channels * 2, true);
  view.setUint16(32, channels * 2, true);
  view.setUint16(34, 16, true);
  ascii(36, 'data');
  view.setUint32(40, samples.byteLength, true);
  for (let i = 0; i < samples.length; i++) view.setInt16(44 + 2 * i, samples[i] as number, true);
  return out;
}
