import type { SessionErrorCode, TranscriptEvent } from '../engine/pipeline/index.js';

/** Stable codes of `{"type": "error"}` messages; docs/PROTOCOL.md lists what each means. */
export type ErrorCode =
  | 'bad_json'
  | 'bad_message'
  | 'unknown_type'
  | 'odd_frame_length'
  | 'frame_too_large'
  | 'internal_error'
  | 'resume_failed'
  | 'overloaded'
  | 'not_started'
  | 'already_started'
  | 'too_many_sessions'
  | SessionErrorCode;

export interface ResumeRequest {
  sessionId: string;
  resumeToken: string;
  /** Highest transcript seq the client has; -1 for none. */
  lastSeq: number;
}

export type ClientCommand =
  | { type: 'config'; language: string }
  | { type: 'flush' }
  | { type: 'end' }
  | ({ type: 'resume' } & ResumeRequest);

export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Parses a text message into a JSON object; throws ProtocolError otherwise. */
export function parseObject(text: string, hint = 'text messages must be JSON objects'): Record<string, unknown> {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    throw new ProtocolError('bad_json', hint);
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw new ProtocolError('bad_message', 'text messages must be JSON objects');
  }
  return message as Record<string, unknown>;
}

/** Parses a client text message; throws ProtocolError for anything that is not a documented command. */
export function parseCommand(text: string): ClientCommand {
  const fields = parseObject(text, 'text messages must be JSON, e.g. {"language": "en"} or {"type": "end"}');
  const type = fields['type'];
  if (type === undefined) {
    const language = fields['language'];
    if (typeof language !== 'string') {
      throw new ProtocolError('bad_message', 'a message without "type" must be a configuration with a string "language"');
    }
    return { type: 'config', language };
  }
  if (type === 'flush' || type === 'end') return { type };
  if (type === 'resume') {
    const request = resumeRequest(fields['session_id'], fields['resume_token'], fields['last_seq'] ?? -1);
    if (!request) throw new ProtocolError('bad_message', 'resume needs string "session_id" and "resume_token" and an integer "last_seq" >= -1');
    return { type, ...request };
  }
  throw new ProtocolError('unknown_type', `unknown message type ${JSON.stringify(type)}; known types are "flush", "end" and "resume"`);
}

/** The resume request in an upgrade's query string (`?session_id=&resume_token=&last_seq=`), if it has one. */
export function resumeFromQuery(query: URLSearchParams): ResumeRequest | null | 'malformed' {
  if (!query.has('session_id') && !query.has('resume_token')) return null;
  const lastSeq = query.get('last_seq');
  return resumeRequest(query.get('session_id'), query.get('resume_token'), lastSeq === null ? -1 : /^-?\d+$/.test(lastSeq) ? Number(lastSeq) : NaN) ?? 'malformed';
}

function resumeRequest(sessionId: unknown, resumeToken: unknown, lastSeq: unknown): ResumeRequest | null {
  if (typeof sessionId !== 'string' || sessionId === '' || typeof resumeToken !== 'string' || resumeToken === '') return null;
  if (typeof lastSeq !== 'number' || !Number.isSafeInteger(lastSeq) || lastSeq < -1) return null;
  return { sessionId, resumeToken, lastSeq };
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

const SAMPLES_PER_MS = 16;

/**
 * `audio_ms` of acks and `resumed`: whole milliseconds received, rounded down, so a client never drops audio the
 * server does not have. A client resends from `audio_ms` × 16 samples; `resendOverlap` is how many of those samples
 * the server already has and must skip.
 */
export const receivedMs = (samples: number): number => Math.floor(samples / SAMPLES_PER_MS);
export const resendOverlap = (samples: number): number => samples - receivedMs(samples) * SAMPLES_PER_MS;

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

export function sessionMessage(sessionId: string, resumeToken: string, resumeTtlMs: number): string {
  return JSON.stringify({ type: 'session', session_id: sessionId, resume_token: resumeToken, resume_ttl_ms: resumeTtlMs });
}

export function resumedMessage(sessionId: string, audioMs: number): string {
  return JSON.stringify({ type: 'resumed', session_id: sessionId, audio_ms: audioMs });
}

export function ackMessage(audioMs: number): string {
  return JSON.stringify({ type: 'ack', audio_ms: audioMs });
}
