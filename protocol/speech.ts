import type { TranscriptEvent } from '../engine/pipeline/index.js';
import { ProtocolError, parseObject, type ErrorCode } from './stream.js';

/** Client messages of /speech (docs/PROTOCOL.md). */
export type SpeechCommand = { type: 'start'; language: string | undefined } | { type: 'stop' };

export function parseSpeechCommand(text: string): SpeechCommand {
  const fields = parseObject(text);
  const type = fields['type'];
  if (type === 'start') {
    const language = fields['language'];
    if (language !== undefined && typeof language !== 'string') throw new ProtocolError('bad_message', '"language" must be a string');
    return { type, language };
  }
  if (type === 'stop') return { type };
  throw new ProtocolError('unknown_type', `unknown message type ${JSON.stringify(type)}; known types are "start" and "stop"`);
}

export function speechTranscriptEvent(event: TranscriptEvent): string {
  return JSON.stringify({
    event: event.isFinal ? 'transcription-final' : 'transcription-partial',
    data: {
      text: event.text,
      is_final: event.isFinal,
      language: event.language,
      segment_id: event.segmentId,
      seq: event.seq,
      start_ms: event.startMs,
      end_ms: event.endMs,
    },
  });
}

export function speechErrorEvent(code: ErrorCode, message: string): string {
  return JSON.stringify({ event: 'transcription-error', data: { code, message } });
}

export function speechEvent(event: 'started' | 'stopped', sessionId: string): string {
  return JSON.stringify({ event, session_id: sessionId });
}
