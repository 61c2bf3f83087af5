/**
 * The /speech protocol over a plain WebSocket: explicit start and stop around each session, events named by kind
 * (`{"event": "transcription-partial", "data": {...}}`). Socket.IO clients get the same events natively.
 */
import { ProtocolError, checkPrompt, excerpt, parseObject, type ErrorCode } from './errors.js';
import type { TranscriptFields } from './stream.js';

/** Client messages of /speech (docs/PROTOCOL.md). */
export type SpeechCommand =
  | { type: 'start'; language: string | undefined; prompt: string | undefined }
  | { type: 'stop' };

export type SpeechEventName =
  | 'transcription-partial'
  | 'transcription-final'
  | 'transcription-error'
  | 'transcription-started'
  | 'transcription-stopped';

/** The `data` of transcription-partial and transcription-final: the /stream transcript's fields. */
export interface SpeechTranscript {
  text: string;
  is_final: boolean;
  /** True on the final that closes a speech turn. */
  end_of_speech: boolean;
  language: string;
  segment_id: number;
  seq: number;
  start_ms: number;
  end_ms: number;
}

export function parseSpeechCommand(text: string): SpeechCommand {
  const fields = parseObject(text);
  const type = fields['type'];
  if (type === 'start') return { type, ...parseStart(fields) };
  if (type === 'stop') return { type };
  throw new ProtocolError('unknown_type', `unknown message type ${excerpt(type)}; known types are "start" and "stop"`);
}

/** The options of a start (the message's, or a Socket.IO start-transcription's payload). */
export function parseStart(fields: Record<string, unknown>): {
  language: string | undefined;
  prompt: string | undefined;
} {
  const { language, prompt } = fields;
  if (language !== undefined && typeof language !== 'string')
    throw new ProtocolError('bad_message', '"language" must be a string');
  if (prompt !== undefined && typeof prompt !== 'string')
    throw new ProtocolError('bad_message', '"prompt" must be a string');
  return { language, prompt: prompt === undefined ? undefined : checkPrompt(prompt) };
}

export function speechTranscript(event: TranscriptFields): SpeechTranscript {
  return {
    text: event.text,
    is_final: event.isFinal,
    end_of_speech: event.endOfSpeech,
    language: event.language,
    segment_id: event.segmentId,
    seq: event.seq,
    start_ms: event.startMs,
    end_ms: event.endMs,
  };
}

export function speechTranscriptEvent(event: TranscriptFields): string {
  return JSON.stringify({
    event: event.isFinal ? 'transcription-final' : 'transcription-partial',
    data: speechTranscript(event),
  });
}

export function speechErrorEvent(code: ErrorCode, message: string): string {
  return JSON.stringify({ event: 'transcription-error', data: { code, message } });
}

export function speechEvent(event: 'started' | 'stopped', sessionId: string): string {
  return JSON.stringify({ event, session_id: sessionId });
}
