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

/**
 * The turn detection parameters a client names: `min_turn_silence` (or its older name
 * `min_end_of_turn_silence_when_confident`), `max_turn_silence`, `end_of_turn_confidence_threshold`.
 */
export interface TurnParams {
  minMs?: number;
  maxMs?: number;
  threshold?: number;
}

/** What the query string asks for, checked (endpointing's range is the server's). */
export interface StreamingOptions {
  /** pcm_s16le or pcm_mulaw at sample_rate (16000 when not given), or Opus in Ogg (ogg_opus). */
  audio: AudioFormat;
  formatTurns: boolean;
  turn: TurnParams;
  /** The `keyterms_prompt` terms as a vocabulary prompt. */
  prompt: string | undefined;
  /** `inactivity_timeout`, in seconds; undefined: none (the server's IDLE_TIMEOUT_MS still applies). */
  inactivityS: number | undefined;
}

/** The settings an UpdateConfiguration changes (the others it may carry are accepted and ignored). */
export interface StreamingUpdate {
  formatTurns?: boolean;
  turn: TurnParams;
  prompt?: string;
}

/** AssemblyAI's bounds on `inactivity_timeout`, in seconds. */
export const MIN_INACTIVITY_S = 5;
export const MAX_INACTIVITY_S = 3600;
/** AssemblyAI's `max_turn_silence` when a client names none. */
export const DEFAULT_MAX_TURN_SILENCE_MS = 1280;

export type StreamingCommand =
  | { type: 'ForceEndpoint' | 'KeepAlive' | 'Terminate' }
  | { type: 'UpdateConfiguration'; update: StreamingUpdate };

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
  /**
   * AssemblyAI's close codes: 3005 server error, 3006 invalid message, 3007 input too long or too fast, 3009 capacity;
   * 4001 a refused credential.
   */
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
  const threshold = confidenceThreshold(singleParam(query, 'end_of_turn_confidence_threshold'));
  const keyterms = singleParam(query, 'keyterms_prompt');
  const minMs =
    millisecondsParam(query, 'min_turn_silence') ?? millisecondsParam(query, 'min_end_of_turn_silence_when_confident');
  const maxMs = millisecondsParam(query, 'max_turn_silence');
  return {
    audio,
    formatTurns: booleanParam(query, 'format_turns') ?? false,
    turn: defined({ minMs, maxMs, threshold }),
    prompt: keyterms === null ? undefined : termsPrompt(terms(parseJson(keyterms, 'keyterms_prompt'))),
    inactivityS: integerParam(query, 'inactivity_timeout', MIN_INACTIVITY_S, MAX_INACTIVITY_S),
  };
}

/** The named ones only, so that merging parameters keeps what was named before. */
function defined(turn: TurnParams): TurnParams {
  return Object.fromEntries(Object.entries(turn).filter(([, value]) => value !== undefined));
}

/** Parses a text message; throws ProtocolError for anything that is not one of the four client messages. */
export function parseStreamingMessage(text: string): StreamingCommand {
  const fields = parseObject(text, 'text messages must be JSON, e.g. {"type": "ForceEndpoint"}');
  const type = fields['type'];
  if (type === 'ForceEndpoint' || type === 'KeepAlive' || type === 'Terminate') return { type };
  if (type === 'UpdateConfiguration') return { type, update: parseUpdate(fields) };
  throw new ProtocolError(
    'unknown_type',
    `unknown message type ${excerpt(type)}; known types are "UpdateConfiguration", "ForceEndpoint", "KeepAlive" ` +
      'and "Terminate"',
  );
}

function parseUpdate(fields: Record<string, unknown>): StreamingUpdate {
  const update: StreamingUpdate = { turn: {} };
  const { format_turns: formatTurns, keyterms_prompt: keyterms, end_of_turn_confidence_threshold: threshold } = fields;
  if (formatTurns !== undefined) {
    if (typeof formatTurns !== 'boolean')
      throw new ProtocolError('bad_message', '"format_turns" must be true or false');
    update.formatTurns = formatTurns;
  }
  const silence = (name: string): number | undefined => {
    const value = fields[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !(value >= 0))
      throw new ProtocolError('bad_message', `"${name}" must be milliseconds, a number >= 0`);
    return value;
  };
  update.turn = defined({
    minMs: silence('min_turn_silence') ?? silence('min_end_of_turn_silence_when_confident'),
    maxMs: silence('max_turn_silence'),
    threshold: confidenceThreshold(threshold),
  });
  if (keyterms !== undefined) update.prompt = termsPrompt(terms(keyterms));
  return update;
}

/**
 * The silence that ends a turn. AssemblyAI ends one once its end-of-turn confidence reaches the threshold and
 * min_turn_silence has passed, or at max_turn_silence whatever the confidence. Our confidence is the silence after the
 * last word against max_turn_silence (turnConfidence), so with a threshold the rule is a silence:
 * threshold × max_turn_silence, at least min_turn_silence, at most max_turn_silence. Without a threshold a turn ends
 * after min_turn_silence, capped by max_turn_silence when both are given (max_turn_silence alone changes nothing).
 * Undefined: nothing named, the server's default.
 */
export function turnSilence(turn: TurnParams): number | undefined {
  const { minMs, maxMs, threshold } = turn;
  if (threshold !== undefined) {
    const max = maxMs ?? DEFAULT_MAX_TURN_SILENCE_MS;
    return Math.min(max, Math.max(minMs ?? 0, threshold * max));
  }
  return minMs === undefined ? undefined : Math.min(minMs, maxMs ?? minMs);
}

/** Our end-of-turn confidence after `silenceMs` of silence: how much of max_turn_silence it is (0 to 1). */
export function turnConfidence(silenceMs: number, turn: TurnParams): number {
  return Math.min(1, Math.max(0, silenceMs / (turn.maxMs ?? DEFAULT_MAX_TURN_SILENCE_MS)));
}

/** end_of_turn_confidence_threshold, a number from 0 to 1 (a string of one in a query). */
function confidenceThreshold(value: unknown): number | undefined {
  if (value === null || value === undefined) return undefined;
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !(number >= 0 && number <= 1)) {
    throw new ProtocolError(
      'bad_option',
      `end_of_turn_confidence_threshold must be a number from 0 to 1; got ${excerpt(value)}`,
    );
  }
  return number;
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
  const message: TerminationMessage = {
    type: 'Termination',
    audio_duration_seconds: audioSeconds,
    session_duration_seconds: sessionSeconds,
  };
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

/** AssemblyAI's code for a refused key (its SDK's AuthFailed, which it does not retry). */
export const AUTH_FAILED_CODE = 4001;

/** The Error a refused credential gets before the socket closes with AUTH_FAILED_CODE. */
export function unauthorizedMessage(reason: string): string {
  const message: StreamingErrorMessage = {
    type: 'Error',
    error_code: AUTH_FAILED_CODE,
    error: `Not Authorized: ${reason}`,
  };
  return JSON.stringify(message);
}
