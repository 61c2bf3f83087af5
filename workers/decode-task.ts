/**
 * Piscina task: decodes an uploaded audio file (any format engine/codecs/file-decoder.ts reads) to 16 kHz mono PCM,
 * off the event loop: headers are read, limits checked and samples decoded here, however odd the file.
 */
import { AudioDecodeError, type AudioErrorCode } from '../engine/codecs/errors.js';
import { decodeAudioFile, type FileLimits } from '../engine/codecs/file-decoder.js';

export interface DecodeRequest {
  file: Uint8Array;
  limits: FileLimits;
}

export type DecodeResult =
  | { ok: true; pcm: Int16Array; format: string }
  | { ok: false; code: AudioErrorCode; message: string };

export async function decode(request: DecodeRequest): Promise<DecodeResult> {
  try {
    const { pcm, format } = await decodeAudioFile(request.file, request.limits);
    return { ok: true, pcm, format };
  } catch (error) {
    if (error instanceof AudioDecodeError) return { ok: false, code: error.code, message: error.message };
    // A decoder's own failure (a WebAssembly trap on a hostile file) is the file's fault as far as the client goes.
    const why = error instanceof Error ? error.message.slice(0, 120) : 'a decoder error';
    return { ok: false, code: 'bad_audio', message: `the file could not be decoded (${why})` };
  }
}
