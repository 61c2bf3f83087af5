/**
 * The /speech protocol as Socket.IO events (namespace `/speech`): what clients emit, how their payloads are checked
 * and bounded, and the acknowledgements they get. The server's events are those of protocol/speech.ts.
 */
import { ProtocolError, excerpt, type ErrorCode } from './errors.js';
import { parseStart } from './speech.js';

export const SPEECH_NAMESPACE = '/speech';

export type SpeechClientEvent = 'start-transcription' | 'audio-chunk' | 'stop-transcription';

/** The acknowledgement of start-transcription and stop-transcription. */
export type SpeechAck = { session_id: string } | { error: { code: ErrorCode; message: string } };

/** Rate of bare binary audio-chunks; other rates come as `{audio, sampleRate}`. */
export const NATIVE_RATE = 16000;
export const MIN_SAMPLE_RATE = 8000;
export const MAX_SAMPLE_RATE = 96000;

/** Containers an audio-chunk may carry a piece of: what a browser's MediaRecorder makes (Opus in WebM or Ogg). */
export const CHUNK_FORMATS = ['webm', 'ogg'] as const;
export type ChunkFormat = (typeof CHUNK_FORMATS)[number];

/**
 * Audio as the client sent it: s16le mono bytes at `sampleRate`, whole samples, at most 1 s of them; or the next
 * piece of a recording in a container (its first piece carries the header), bounded where it is decoded.
 */
export type AudioChunk =
  | { kind: 'pcm'; bytes: Uint8Array; sampleRate: number }
  | { kind: 'container'; bytes: Uint8Array; format: ChunkFormat };

export function speechAck(outcome: { sessionId: string } | { code: ErrorCode; message: string }): SpeechAck {
  return 'sessionId' in outcome
    ? { session_id: outcome.sessionId }
    : { error: { code: outcome.code, message: outcome.message } };
}

/** The options of a start-transcription: its payload is optional, an object when present. */
export function parseStartPayload(payload: unknown): ReturnType<typeof parseStart> {
  if (payload === undefined) return parseStart({});
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new ProtocolError(
      'bad_message',
      `start-transcription takes an object such as {"language": "en"}; got ${excerpt(payload)}`,
    );
  }
  return parseStart(Object.fromEntries(Object.entries(payload)));
}

/** Bytes of a binary Socket.IO argument (a Buffer in Node; an ArrayBuffer or typed array from other parsers). */
function binary(value: unknown): Uint8Array | null {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return null;
}

/**
 * An audio-chunk's payload: binary 16 kHz s16le PCM, `{audio: <binary>, sampleRate}` for other rates, or
 * `{audio: <binary>, format: "webm" | "ogg"}` for a recording's next piece. PCM is bounded before anything reads the
 * samples: whole samples, at most 1 s of audio at its rate.
 */
export function parseAudioChunk(payload: unknown): AudioChunk {
  const bare = binary(payload);
  if (bare) return { kind: 'pcm', bytes: bare, sampleRate: NATIVE_RATE };
  const fields = typeof payload === 'object' && payload !== null ? Object.fromEntries(Object.entries(payload)) : null;
  const bytes = binary(fields?.['audio']);
  if (!fields || !bytes) {
    const forms =
      'binary 16 kHz s16le PCM, {audio: <binary>, sampleRate: <Hz>} or {audio: <binary>, format: <webm|ogg>}';
    throw new ProtocolError('bad_message', `audio-chunk takes ${forms}; got ${excerpt(typeof payload)}`);
  }
  if (fields['format'] !== undefined) {
    const format = CHUNK_FORMATS.find((known) => known === fields['format']);
    if (!format) {
      const message = `format must be "webm" or "ogg" (Opus from MediaRecorder); got ${excerpt(fields['format'])}`;
      throw new ProtocolError('bad_option', message);
    }
    return { kind: 'container', bytes, format };
  }
  const sampleRate = fields['sampleRate'];
  if (
    typeof sampleRate !== 'number' ||
    !Number.isInteger(sampleRate) ||
    sampleRate < MIN_SAMPLE_RATE ||
    sampleRate > MAX_SAMPLE_RATE
  ) {
    throw new ProtocolError(
      'bad_option',
      `sampleRate must be a whole number of Hz from ${MIN_SAMPLE_RATE} to ${MAX_SAMPLE_RATE}; got ` +
        `${excerpt(sampleRate)}`,
    );
  }
  if (bytes.byteLength % 2 !== 0)
    throw new ProtocolError(
      'odd_frame_length',
      `audio must hold whole 16-bit samples; got ${bytes.byteLength} bytes, dropped`,
    );
  if (bytes.byteLength > sampleRate * 2) {
    throw new ProtocolError(
      'frame_too_large',
      `one audio-chunk may carry at most 1 s of audio (${sampleRate * 2} bytes at ${sampleRate} Hz); got ` +
        `${bytes.byteLength}, dropped`,
    );
  }
  return { kind: 'pcm', bytes, sampleRate };
}
