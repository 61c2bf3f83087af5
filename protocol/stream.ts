/**
 * The native /stream protocol: every message in both directions, as types and (de)serialisers shared by the
 * server, the client library and the tests. docs/PROTOCOL.md describes it for people.
 */
import { ProtocolError, checkPrompt, excerpt, parseObject, type ErrorCode } from './errors.js';

/** A word of a transcript, when the client asked for words: session audio time in ms, confidence 0..1. */
export interface WireWord {
  word: string;
  start_ms: number;
  end_ms: number;
  confidence: number;
}

export interface TranscriptMessage {
  text: string;
  is_final: boolean;
  /** True on the final that closes a speech turn; false on partials and on the finals of segments before it. */
  end_of_speech: boolean;
  language: string;
  type: 'transcript';
  segment_id: number;
  seq: number;
  start_ms: number;
  end_ms: number;
  /** Only after {"words": true}: for a final all its words, for a partial its committed ones. */
  words?: WireWord[];
}

export interface ErrorMessage {
  type: 'error';
  code: ErrorCode;
  message: string;
}

export interface SessionMessage {
  type: 'session';
  session_id: string;
  resume_token: string;
  resume_ttl_ms: number;
}

export interface ResumedMessage {
  type: 'resumed';
  session_id: string;
  audio_ms: number;
}

export interface AckMessage {
  type: 'ack';
  audio_ms: number;
}

export type ServerMessage = TranscriptMessage | ErrorMessage | SessionMessage | ResumedMessage | AckMessage;

export interface ResumeRequest {
  sessionId: string;
  resumeToken: string;
  /** Highest transcript seq the client has; -1 for none. */
  lastSeq: number;
}

/** A configuration message: any of its fields, at least one. */
export interface StreamConfig {
  language?: string;
  /** Vocabulary and style hint for every final from now on (Whisper's initial prompt). */
  prompt?: string;
  /** Transcripts carry `words`. */
  words?: boolean;
}

export type ClientCommand =
  | ({ type: 'config' } & StreamConfig)
  | { type: 'flush' }
  | { type: 'end' }
  | ({ type: 'resume' } & ResumeRequest);

/** Parses a client text message; throws ProtocolError for anything that is not a documented command. */
export function parseCommand(text: string): ClientCommand {
  const fields = parseObject(text, 'text messages must be JSON, e.g. {"language": "en"} or {"type": "end"}');
  const type = fields['type'];
  if (type === undefined || type === 'config') return { type: 'config', ...parseConfig(fields) };
  if (type === 'flush' || type === 'end') return { type };
  if (type === 'resume') {
    const request = resumeRequest(fields['session_id'], fields['resume_token'], fields['last_seq'] ?? -1);
    if (!request)
      throw new ProtocolError(
        'bad_message',
        'resume needs string "session_id" and "resume_token" and an integer "last_seq" >= -1',
      );
    return { type, ...request };
  }
  throw new ProtocolError(
    'unknown_type',
    `unknown message type ${excerpt(type)}; known types are "config", "flush", "end" and "resume"`,
  );
}

function parseConfig(fields: Record<string, unknown>): StreamConfig {
  const config: StreamConfig = {};
  const { language, prompt, words } = fields;
  if (language !== undefined) {
    if (typeof language !== 'string')
      throw new ProtocolError('bad_message', '"language" must be a string such as "en" or "auto"');
    config.language = language;
  }
  if (prompt !== undefined) {
    if (typeof prompt !== 'string') throw new ProtocolError('bad_message', '"prompt" must be a string');
    config.prompt = checkPrompt(prompt);
  }
  if (words !== undefined) {
    if (typeof words !== 'boolean') throw new ProtocolError('bad_message', '"words" must be true or false');
    config.words = words;
  }
  if (Object.keys(config).length === 0) {
    throw new ProtocolError(
      'bad_message',
      'a configuration needs at least one of "language" (string), "prompt" (string) or "words" (boolean)',
    );
  }
  return config;
}

/** The resume request in an upgrade's query string (`?session_id=&resume_token=&last_seq=`), if it has one. */
export function resumeFromQuery(query: URLSearchParams): ResumeRequest | null | 'malformed' {
  if (!query.has('session_id') && !query.has('resume_token')) return null;
  const lastSeq = query.get('last_seq');
  return (
    resumeRequest(
      query.get('session_id'),
      query.get('resume_token'),
      lastSeq === null ? -1 : /^-?\d{1,16}$/.test(lastSeq) ? Number(lastSeq) : NaN,
    ) ?? 'malformed'
  );
}

/** Ids and tokens the server makes are short; anything longer is not one of them. */
const MAX_ID_CHARS = 128;

function resumeRequest(sessionId: unknown, resumeToken: unknown, lastSeq: unknown): ResumeRequest | null {
  const token = (value: unknown): value is string =>
    typeof value === 'string' && value !== '' && value.length <= MAX_ID_CHARS;
  if (!token(sessionId) || !token(resumeToken)) return null;
  if (typeof lastSeq !== 'number' || !Number.isSafeInteger(lastSeq) || lastSeq < -1) return null;
  return { sessionId, resumeToken, lastSeq };
}

const SAMPLES_PER_MS = 16;

/**
 * `audio_ms` of acks and `resumed`: whole milliseconds received, rounded down, so a client never drops audio the
 * server does not have. A client resends from `audio_ms` × 16 samples; `resendOverlap` is how many of those samples
 * the server already has and must skip.
 */
export const receivedMs = (samples: number): number => Math.floor(samples / SAMPLES_PER_MS);
export const resendOverlap = (samples: number): number => samples - receivedMs(samples) * SAMPLES_PER_MS;

/** The fields of a transcript the wire needs, in the session's audio time. */
export interface TranscriptFields {
  text: string;
  isFinal: boolean;
  endOfSpeech: boolean;
  language: string;
  segmentId: number;
  seq: number;
  startMs: number;
  endMs: number;
  words: { text: string; startMs: number; endMs: number; confidence: number }[];
}

export function transcriptMessage(event: TranscriptFields, withWords: boolean): string {
  const message: TranscriptMessage = {
    text: event.text,
    is_final: event.isFinal,
    end_of_speech: event.endOfSpeech,
    language: event.language,
    type: 'transcript',
    segment_id: event.segmentId,
    seq: event.seq,
    start_ms: event.startMs,
    end_ms: event.endMs,
  };
  if (withWords) {
    message.words = event.words.map((w) => ({
      word: w.text,
      start_ms: w.startMs,
      end_ms: w.endMs,
      confidence: Math.round(w.confidence * 1000) / 1000,
    }));
  }
  return JSON.stringify(message);
}

export function errorMessage(code: ErrorCode, message: string): string {
  const body: ErrorMessage = { type: 'error', code, message };
  return JSON.stringify(body);
}

export function sessionMessage(sessionId: string, resumeToken: string, resumeTtlMs: number): string {
  const body: SessionMessage = {
    type: 'session',
    session_id: sessionId,
    resume_token: resumeToken,
    resume_ttl_ms: resumeTtlMs,
  };
  return JSON.stringify(body);
}

export function resumedMessage(sessionId: string, audioMs: number): string {
  const body: ResumedMessage = { type: 'resumed', session_id: sessionId, audio_ms: audioMs };
  return JSON.stringify(body);
}

export function ackMessage(audioMs: number): string {
  const body: AckMessage = { type: 'ack', audio_ms: audioMs };
  return JSON.stringify(body);
}
