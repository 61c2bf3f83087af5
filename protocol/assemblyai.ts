/**
 * AssemblyAI's Universal-Streaming v3 protocol (`/v3/ws`): the upgrade's query string, the client's messages and the
 * server's, as types and (de)serialisers. docs/COMPATIBILITY.md says what is supported.
 */
import { ProtocolError, excerpt, parseObject, type ErrorCode } from './errors.js';
import {
  MAX_SAMPLE_RATE,
  MIN_SAMPLE_RATE,
  booleanParam,
  integerParam,
  millisecondsParam,
  singleParam,
  termsPrompt,
  type AudioFormat,
} from './params.js';

/** What the query string asks for, checked (endpointing's range is the server's). */
export interface StreamingOptions {
  /** pcm_s16le or pcm_mulaw at sample_rate (16000 when not given), or Opus in Ogg (ogg_opus). */
  audio: AudioFormat;
  formatTurns: boolean;
  /** See turnSilence; undefined: the server's default. */
  endpointingMs: number | undefined;
  /** The `keyterms_prompt` terms as a vocabulary prompt. */
  prompt: string | undefined;
}

/** The settings an UpdateConfiguration changes (the others it may carry are accepted and ignored). */
export interface StreamingUpdate {
  formatTurns?: boolean;
  endpointingMs?: number;
  prompt?: string;
}

export type StreamingCommand = { type: 'ForceEndpoint' | 'KeepAlive' | 'Terminate' } | { type: 'UpdateConfiguration'; update: StreamingUpdate };

export interface BeginMessage {
  type: 'Begin';
  id: string;
  /** Unix time, seconds. */
  expires_at: number;
}

export interface TurnWord {
  /** Milliseconds of audio from the stream's start. */
  start: number;
  end: number;
  text: string;
  confidence: number;
  word_is_final: boolean;
}

export interface TurnMessage {
  type: 'Turn';
  turn_order: number;
  turn_is_formatted: boolean;
  end_of_turn: boolean;
  /** The turn's final words so far; all of it at the end of the turn. */
  transcript: string;
  end_of_turn_confidence: number;
  words: TurnWord[];
  /** The whole turn at its end, '' before. */
  utterance: string;
}

export interface TerminationMessage {
  type: 'Termination';
  audio_duration_seconds: number;
  session_duration_seconds: number;
}

export interface StreamingErrorMessage {
  type: 'Error';
  /** AssemblyAI's close codes: 3005 server error, 3006 invalid message, 3007 input too long or too fast, 3009 capacity. */
  error_code: number;
  error: string;
}

/** AssemblyAI's encodings this server reads; `opus` (bare Opus frames) and `aac` it does not. */
const ENCODINGS = ['pcm_s16le', 'pcm_mulaw', 'ogg_opus'];

function parseAudio(query: URLSearchParams): AudioFormat {
  const encoding = singleParam(query, 'encoding') ?? 'pcm_s16le';
  const sampleRate = integerParam(query, 'sample_rate', MIN_SAMPLE_RATE, MAX_SAMPLE_RATE) ?? 16000;
  if (encoding === 'pcm_s16le') return { kind: 'raw', encoding: 'linear16', sampleRate, channels: 1 };
  if (encoding === 'pcm_mulaw') return { kind: 'raw', encoding: 'mulaw', sampleRate, channels: 1 };
  if (encoding === 'ogg_opus') return { kind: 'container', accepted: ['ogg'] };
  throw new ProtocolError('bad_option', `encoding must be one of ${ENCODINGS.join(', ')}; got ${excerpt(encoding)}`);
}

export function parseStreamingQuery(query: URLSearchParams): StreamingOptions {
  const audio = parseAudio(query);
  confidenceThreshold(singleParam(query, 'end_of_turn_confidence_threshold'));
  const keyterms = singleParam(query, 'keyterms_prompt');
  return {
    audio,
    formatTurns: booleanParam(query, 'format_turns') ?? false,
    endpointingMs: turnSilence(
      millisecondsParam(query, 'min_turn_silence') ?? millisecondsParam(query, 'min_end_of_turn_silence_when_confident'),
      millisecondsParam(query, 'max_turn_silence'),
    ),
    prompt: keyterms === null ? undefined : termsPrompt(terms(parseJson(keyterms, 'keyterms_prompt'))),
  };
}

/** Parses a text message; throws ProtocolError for anything that is not one of the four client messages. */
export function parseStreamingMessage(text: string): StreamingCommand {
  const fields = parseObject(text, 'text messages must be JSON, e.g. {"type": "ForceEndpoint"}');
  const type = fields['type'];
  if (type === 'ForceEndpoint' || type === 'KeepAlive' || type === 'Terminate') return { type };
  if (type === 'UpdateConfiguration') return { type, update: parseUpdate(fields) };
  throw new ProtocolError('unknown_type', `unknown message type ${excerpt(type)}; known types are "UpdateConfiguration", "ForceEndpoint", "KeepAlive" and "Terminate"`);
}

function parseUpdate(fields: Record<string, unknown>): StreamingUpdate {
  const update: StreamingUpdate = {};
  const { format_turns: formatTurns, keyterms_prompt: keyterms, end_of_turn_confidence_threshold: threshold } = fields;
  if (formatTurns !== undefined) {
    if (typeof formatTurns !== 'boolean') throw new ProtocolError('bad_message', '"format_turns" must be true or false');
    update.formatTurns = formatTurns;
  }
  if (threshold !== undefined) confidenceThreshold(threshold);
  const silence = (name: string): number | undefined => {
    const value = fields[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !(value >= 0)) throw new ProtocolError('bad_message', `"${name}" must be milliseconds, a number >= 0`);
    return value;
  };
  const endpointingMs = turnSilence(silence('min_turn_silence') ?? silence('min_end_of_turn_silence_when_confident'), silence('max_turn_silence'));
  if (endpointingMs !== undefined) update.endpointingMs = endpointingMs;
  if (keyterms !== undefined) update.prompt = termsPrompt(terms(keyterms));
  return update;
}

/**
 * Our turns end on silence alone: after min_turn_silence (AssemblyAI's silence when it is confident), capped by
 * max_turn_silence when both are given. max_turn_silence alone changes nothing.
 */
function turnSilence(min: number | undefined, max: number | undefined): number | undefined {
  return min === undefined ? undefined : Math.min(min, max ?? min);
}

/** end_of_turn_confidence_threshold is accepted when it is one (0 to 1), and has no effect. */
function confidenceThreshold(value: unknown): void {
  if (value === null || value === undefined) return;
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !(number >= 0 && number <= 1)) {
    throw new ProtocolError('bad_option', `end_of_turn_confidence_threshold must be a number from 0 to 1; got ${excerpt(value)}`);
  }
}

function parseJson(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ProtocolError('bad_option', `${name} must be a JSON array of strings; got ${excerpt(text)}`);
  }
}

function terms(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((term) => typeof term === 'string')) {
    throw new ProtocolError('bad_option', `keyterms_prompt must be an array of strings; got ${excerpt(value)}`);
  }
  return value;
}

export function beginMessage(id: string, expiresAt: number): string {
  const message: BeginMessage = { type: 'Begin', id, expires_at: expiresAt };
  return JSON.stringify(message);
}

export function turnMessage(turn: Omit<TurnMessage, 'type'>): string {
  const message: TurnMessage = { type: 'Turn', ...turn };
  return JSON.stringify(message);
}

export function terminationMessage(audioSeconds: number, sessionSeconds: number): string {
  const message: TerminationMessage = { type: 'Termination', audio_duration_seconds: audioSeconds, session_duration_seconds: sessionSeconds };
  return JSON.stringify(message);
}

/** AssemblyAI's code for each of ours; AssemblyAI then closes the connection, we do not. */
export function streamingErrorCode(code: ErrorCode): number {
  switch (code) {
    case 'internal_error':
    case 'transcription_failed':
      return 3005;
    case 'frame_too_large':
    case 'rate_limited':
      return 3007;
    case 'overloaded':
    case 'too_many_sessions':
    case 'store_unavailable':
      return 3009;
    default:
      return 3006;
  }
}

export function streamingErrorMessage(code: ErrorCode, error: string): string {
  const message: StreamingErrorMessage = { type: 'Error', error_code: streamingErrorCode(code), error };
  return JSON.stringify(message);
}
