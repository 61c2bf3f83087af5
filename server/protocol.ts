import type { SessionErrorCode, TranscriptEvent } from '../engine/streaming/index.js';

/** Stable codes of `{"type": "error"}` messages; docs/PROTOCOL.md lists what each means. */
export type ErrorCode =
  | 'bad_json'
  | 'bad_message'
  | 'unknown_type'
  | 'odd_frame_length'
  | 'frame_too_large'
  | 'internal_error'
  | SessionErrorCode;

export type ClientCommand = { type: 'config'; language: string } | { type: 'flush' } | { type: 'end' };

export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Parses a client text message; throws ProtocolError for anything that is not a documented command. */
export function parseCommand(text: string): ClientCommand {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    throw new ProtocolError('bad_json', 'text messages must be JSON, e.g. {"language": "en"} or {"type": "end"}');
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw new ProtocolError('bad_message', 'text messages must be JSON objects');
  }
  const fields = message as Record<string, unknown>;
  const type = fields['type'];
  if (type === undefined) {
    const language = fields['language'];
    if (typeof language !== 'string') {
      throw new ProtocolError('bad_message', 'a message without "type" must be a configuration with a string "language"');
    }
    return { type: 'config', language };
  }
  if (type === 'flush' || type === 'end') return { type };
  throw new ProtocolError('unknown_type', `unknown message type ${JSON.stringify(type)}; known types are "flush" and "end"`);
}

/** Checks a binary frame's size; returns the reason it must be dropped, if any. */
export function checkAudioFrame(byteLength: number, maxBytes: number): ProtocolError | null {
  if (byteLength % 2 !== 0) {
    return new ProtocolError('odd_frame_length', `audio frames must hold whole 16-bit samples; got ${byteLength} bytes, frame dropped`);
  }
  if (byteLength > maxBytes) {
    return new ProtocolError('frame_too_large', `audio frames may hold at most ${maxBytes} bytes (1 s); got ${byteLength} bytes, frame dropped`);
  }
  return null;
}

export function transcriptMessage(event: TranscriptEvent): string {
  return JSON.stringify({
    text: event.text,
    is_final: event.isFinal,
    language: event.language,
    type: 'transcript',
    segment_id: event.segmentId,
    seq: event.seq,
    start_ms: event.startMs,
    end_ms: event.endMs,
  });
}

export function errorMessage(code: ErrorCode, message: string): string {
  return JSON.stringify({ type: 'error', code, message });
}
