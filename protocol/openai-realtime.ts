/**
 * OpenAI Realtime transcription (`/v1/realtime`): the client events this server understands, parsed and bounded, and
 * the server events it sends, in OpenAI's GA shape (`session.*`) or the beta one (`transcription_session.*`).
 */
import { ProtocolError, checkPrompt, excerpt, parseObject, type ErrorCode } from './errors.js';

/**
 * Input formats: PCM16 mono at 24 kHz (GA `audio/pcm`, beta `pcm16`, the default) and G.711 at 8 kHz, mu-law (GA
 * `audio/pcmu`, beta `g711_ulaw`) or A-law (`audio/pcma`, `g711_alaw`), as telephony sends it.
 */
export type RealtimeAudioFormat = 'pcm16' | 'pcmu' | 'pcma';
export const INPUT_RATE = 24000;
export const G711_RATE = 8000;
const GA_FORMATS: Record<string, RealtimeAudioFormat> = {
  'audio/pcm': 'pcm16',
  'audio/pcmu': 'pcmu',
  'audio/pcma': 'pcma',
};
const BETA_FORMATS: Record<string, RealtimeAudioFormat> = { pcm16: 'pcm16', g711_ulaw: 'pcmu', g711_alaw: 'pcma' };
/** Audio one append may carry; OpenAI takes more, but a WebSocket message here holds at most 1 MiB. */
export const MAX_APPEND_MS = 15_000;
/** Bytes one append may carry in each format: MAX_APPEND_MS of it. */
export const maxAppendBytes = (format: RealtimeAudioFormat): number =>
  ((format === 'pcm16' ? INPUT_RATE * 2 : G711_RATE) * MAX_APPEND_MS) / 1000;
export const MAX_APPEND_CHARS = Math.ceil(maxAppendBytes('pcm16') / 3) * 4;
/** Client strings that come back in server events are bounded. */
const MAX_EVENT_ID_CHARS = 64;
const MAX_MODEL_CHARS = 64;
const MAX_LANGUAGE_CHARS = 16;
const MAX_PADDING_MS = 10_000;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** What OpenAI's own servers assume when a client names no silence. */
export const DEFAULT_SILENCE_MS = 500;
/** The one `include` a transcription session takes: logprobs on deltas and completed transcripts. */
export const LOGPROBS_INCLUDE = 'item.input_audio_transcription.logprobs';

/** semantic_vad's eagerness: how soon it ends a turn. */
export type Eagerness = 'low' | 'medium' | 'high' | 'auto';
/**
 * Our turns end on silence alone, so semantic_vad becomes a silence by its eagerness: `high` ends turns as soon as
 * server VAD's default does, `medium` (and `auto`, OpenAI's default, which is medium) waits twice as long, `low` four
 * times, so a speaker who pauses mid-thought is cut off less often, which is what semantic_vad is chosen for.
 */
export const EAGERNESS_SILENCE_MS: Readonly<Record<Eagerness, number>> = {
  high: 500,
  medium: 1000,
  auto: 1000,
  low: 2000,
};
const EAGERNESS = Object.keys(EAGERNESS_SILENCE_MS);
const isEagerness = (value: unknown): value is Eagerness => typeof value === 'string' && EAGERNESS.includes(value);

/** A token's log probability as OpenAI's `logprobs` list it. */
export interface LogProb {
  token: string;
  logprob: number;
  /** The token's UTF-8 bytes. */
  bytes: number[];
}

export type RealtimeShape = 'ga' | 'beta';

/** A session.update or transcription_session.update: only what it names changes. */
export interface SessionUpdate {
  shape: RealtimeShape;
  model?: string;
  /** '' asks for the server's default language. */
  language?: string;
  prompt?: string;
  /** Server VAD's end-of-speech silence; null: the client commits each turn itself. */
  silenceMs?: number | null;
  /** With silenceMs: the semantic_vad eagerness it came from, or null (server_vad, or no turn detection). */
  eagerness?: Eagerness | null;
  /** `include` asks for logprobs, or (false) for nothing. */
  logprobs?: boolean;
  /** The format of the appends that follow. */
  format?: RealtimeAudioFormat;
}

export type RealtimeClientEvent =
  | { type: 'session.update'; update: SessionUpdate }
  /** Base64 of audio in the session's format, checked: whole samples, at most MAX_APPEND_MS. */
  | { type: 'input_audio_buffer.append'; audio: string }
  | { type: 'input_audio_buffer.commit' }
  | { type: 'input_audio_buffer.clear' };

/** The settings a session has, as session.created and session.updated show them. */
export interface RealtimeSettings {
  model: string;
  /** null: the server's default. */
  language: string | null;
  prompt: string;
  silenceMs: number | null;
  /** Turn detection is semantic_vad with this eagerness (mapped onto silenceMs); null: server_vad or none. */
  eagerness: Eagerness | null;
  logprobs: boolean;
  format: RealtimeAudioFormat;
  /** Fixed by the server, shown as OpenAI shows its own. */
  threshold: number;
  prefixPaddingMs: number;
}

/** A refusal in OpenAI's terms: its `code` and the `param` it concerns, beside our own ErrorCode. */
export class RealtimeInputError extends ProtocolError {
  constructor(
    code: ErrorCode,
    readonly openAiCode: string,
    readonly param: string | null,
    message: string,
  ) {
    super(code, message);
  }
}

const CLIENT_EVENTS = [
  'session.update',
  'transcription_session.update',
  'input_audio_buffer.append',
  'input_audio_buffer.commit',
  'input_audio_buffer.clear',
];

/** The JSON object of a client event; throws RealtimeInputError for anything else. */
export function parseEventObject(text: string): Record<string, unknown> {
  try {
    return parseObject(text, 'client events must be JSON objects');
  } catch (error) {
    if (error instanceof ProtocolError)
      throw new RealtimeInputError(
        error.code,
        error.code === 'bad_json' ? 'invalid_json' : 'invalid_type',
        null,
        error.message,
      );
    throw error;
  }
}

/** The client's own `event_id`, which errors about its event quote back. */
export function clientEventId(fields: Record<string, unknown>): string | null {
  const id = fields['event_id'];
  if (id === undefined || id === null) return null;
  if (typeof id !== 'string' || id.length > MAX_EVENT_ID_CHARS) {
    throw new RealtimeInputError(
      'bad_message',
      'invalid_value',
      'event_id',
      `event_id must be a string of at most ${MAX_EVENT_ID_CHARS} characters`,
    );
  }
  return id;
}

/** `format`: the session's input format, which bounds an append's size and what a whole sample is. */
export function parseClientEvent(fields: Record<string, unknown>, format: RealtimeAudioFormat): RealtimeClientEvent {
  const type = fields['type'];
  switch (type) {
    case 'session.update':
      return { type, update: gaSession(object(fields['session'], 'session')) };
    case 'transcription_session.update':
      return { type: 'session.update', update: betaSession(object(fields['session'], 'session')) };
    case 'input_audio_buffer.append':
      return { type, audio: audio(fields['audio'], format) };
    case 'input_audio_buffer.commit':
    case 'input_audio_buffer.clear':
      return { type };
  }
  throw new RealtimeInputError(
    'unknown_type',
    'invalid_value',
    'type',
    `unknown or unsupported event type ${excerpt(type)}; a transcription session takes ${CLIENT_EVENTS.join(', ')}`,
  );
}

/**
 * A client secret's session settings, read as a `session.update` (GA) or `transcription_session.update` (beta) of
 * them: what the sessions the secret opens start with. Throws RealtimeInputError.
 */
export function initialSession(shape: RealtimeShape, session: unknown): SessionUpdate {
  return shape === 'ga' ? gaSession(object(session, 'session')) : betaSession(object(session, 'session'));
}

function object(value: unknown, param: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new RealtimeInputError('bad_message', 'invalid_type', param, `${param} must be an object`);
  return Object.fromEntries(Object.entries(value));
}

function optionalObject(value: unknown, param: string): Record<string, unknown> | null {
  return value === undefined || value === null ? null : object(value, param);
}

function gaSession(session: Record<string, unknown>): SessionUpdate {
  const type = session['type'];
  if (type !== undefined && type !== 'transcription') {
    throw new RealtimeInputError(
      'bad_option',
      'invalid_value',
      'session.type',
      `this server runs transcription sessions only: session.type must be "transcription", not ${excerpt(type)}`,
    );
  }
  const update: SessionUpdate = { shape: 'ga' };
  if ('include' in session) update.logprobs = include(session['include'], 'session.include');
  const input = optionalObject(optionalObject(session['audio'], 'session.audio')?.['input'], 'session.audio.input');
  if (!input) return update;
  const format = optionalObject(input['format'], 'session.audio.input.format');
  if (format) {
    const type = format['type'] ?? 'audio/pcm';
    const known = typeof type === 'string' ? GA_FORMATS[type] : undefined;
    if (!known) {
      const formats = '"audio/pcm" (PCM16 mono at 24 kHz), "audio/pcmu" and "audio/pcma" (G.711 at 8 kHz)';
      const param = 'session.audio.input.format.type';
      throw new RealtimeInputError(
        'bad_option',
        'invalid_value',
        param,
        `input formats are ${formats}, not ${excerpt(type)}`,
      );
    }
    const rate = known === 'pcm16' ? INPUT_RATE : G711_RATE;
    if (format['rate'] !== undefined && format['rate'] !== rate) {
      const message = `${String(type)} is taken at ${rate} Hz only, not ${excerpt(format['rate'])}`;
      throw new RealtimeInputError('bad_option', 'invalid_value', 'session.audio.input.format.rate', message);
    }
    update.format = known;
  }
  transcription(
    update,
    optionalObject(input['transcription'], 'session.audio.input.transcription'),
    'session.audio.input.transcription',
  );
  if ('turn_detection' in input) {
    Object.assign(update, turnDetection(input['turn_detection'], 'session.audio.input.turn_detection'));
  }
  return update;
}

function betaSession(session: Record<string, unknown>): SessionUpdate {
  const update: SessionUpdate = { shape: 'beta' };
  if ('include' in session) update.logprobs = include(session['include'], 'session.include');
  const format = session['input_audio_format'];
  if (format !== undefined) {
    const known = typeof format === 'string' ? BETA_FORMATS[format] : undefined;
    if (!known) {
      const formats = '"pcm16" (mono at 24 kHz), "g711_ulaw" and "g711_alaw" (8 kHz)';
      const message = `input formats are ${formats}, not ${excerpt(format)}`;
      throw new RealtimeInputError('bad_option', 'invalid_value', 'session.input_audio_format', message);
    }
    update.format = known;
  }
  transcription(
    update,
    optionalObject(session['input_audio_transcription'], 'session.input_audio_transcription'),
    'session.input_audio_transcription',
  );
  if ('turn_detection' in session) {
    Object.assign(update, turnDetection(session['turn_detection'], 'session.turn_detection'));
  }
  return update;
}

function transcription(update: SessionUpdate, fields: Record<string, unknown> | null, param: string): void {
  if (!fields) return;
  const { model, language, prompt } = fields;
  if (model !== undefined) update.model = boundedString(model, `${param}.model`, MAX_MODEL_CHARS);
  if (language !== undefined && language !== null)
    update.language = boundedString(language, `${param}.language`, MAX_LANGUAGE_CHARS);
  if (prompt !== undefined && prompt !== null) {
    if (typeof prompt !== 'string')
      throw new RealtimeInputError(
        'bad_message',
        'invalid_type',
        `${param}.prompt`,
        `${param}.prompt must be a string`,
      );
    try {
      update.prompt = checkPrompt(prompt);
    } catch (error) {
      if (error instanceof ProtocolError)
        throw new RealtimeInputError(error.code, 'invalid_value', `${param}.prompt`, error.message);
      throw error;
    }
  }
}

function boundedString(value: unknown, param: string, max: number): string {
  if (typeof value !== 'string' || value.length > max)
    throw new RealtimeInputError(
      'bad_message',
      'invalid_value',
      param,
      `${param} must be a string of at most ${max} characters`,
    );
  return value;
}

/** `include`: only logprobs can be asked for; null or [] asks for nothing. */
function include(value: unknown, param: string): boolean {
  if (value === null) return false;
  if (!Array.isArray(value) || !value.every((entry) => entry === LOGPROBS_INCLUDE)) {
    const message = `${param} may list only "${LOGPROBS_INCLUDE}" in a transcription session`;
    throw new RealtimeInputError('bad_option', 'invalid_value', param, message);
  }
  return value.length > 0;
}

/**
 * Server VAD's silence (OpenAI's default when it names none), semantic_vad's by its eagerness, or null for manual
 * commits.
 */
function turnDetection(value: unknown, param: string): { silenceMs: number | null; eagerness: Eagerness | null } {
  if (value === null) return { silenceMs: null, eagerness: null };
  const fields = object(value, param);
  const type = fields['type'] ?? 'server_vad';
  if (type === 'semantic_vad') {
    const eagerness = fields['eagerness'] ?? 'auto';
    if (!isEagerness(eagerness)) {
      const message = `${param}.eagerness must be one of ${EAGERNESS.map((e) => `"${e}"`).join(', ')}`;
      throw new RealtimeInputError('bad_option', 'invalid_value', `${param}.eagerness`, message);
    }
    return { silenceMs: EAGERNESS_SILENCE_MS[eagerness], eagerness };
  }
  if (type !== 'server_vad') {
    const message =
      'turn detection is "server_vad" or "semantic_vad", or null to commit turns with input_audio_buffer.commit; ' +
      `${excerpt(type)} is not offered`;
    throw new RealtimeInputError('bad_option', 'invalid_value', `${param}.type`, message);
  }
  const { threshold, prefix_padding_ms: padding, silence_duration_ms: silence } = fields;
  if (threshold !== undefined && !(typeof threshold === 'number' && threshold >= 0 && threshold <= 1)) {
    throw new RealtimeInputError(
      'bad_option',
      'invalid_value',
      `${param}.threshold`,
      `${param}.threshold must be a number from 0 to 1`,
    );
  }
  if (
    padding !== undefined &&
    !(Number.isInteger(padding) && typeof padding === 'number' && padding >= 0 && padding <= MAX_PADDING_MS)
  ) {
    throw new RealtimeInputError(
      'bad_option',
      'invalid_value',
      `${param}.prefix_padding_ms`,
      `${param}.prefix_padding_ms must be a whole number from 0 to ${MAX_PADDING_MS}`,
    );
  }
  if (silence === undefined) return { silenceMs: DEFAULT_SILENCE_MS, eagerness: null };
  if (!(typeof silence === 'number' && Number.isInteger(silence) && silence > 0)) {
    throw new RealtimeInputError(
      'bad_option',
      'invalid_value',
      `${param}.silence_duration_ms`,
      `${param}.silence_duration_ms must be a whole number of milliseconds`,
    );
  }
  return { silenceMs: silence, eagerness: null };
}

/** Checks base64 audio (size first, then form) without decoding it: browsers and Node decode it differently. */
function audio(value: unknown, format: RealtimeAudioFormat): string {
  const name = format === 'pcm16' ? '24 kHz PCM16' : `8 kHz G.711 ${format === 'pcmu' ? 'mu-law' : 'A-law'}`;
  if (typeof value !== 'string') {
    const message = `audio must be a string of base64-encoded ${name}`;
    throw new RealtimeInputError('bad_message', 'missing_required_parameter', 'audio', message);
  }
  const maxChars = Math.ceil(maxAppendBytes(format) / 3) * 4;
  if (value.length > maxChars) {
    const message = `one append may carry at most ${MAX_APPEND_MS / 1000} s of ${name} (${maxChars} base64 characters)`;
    throw new RealtimeInputError('frame_too_large', 'invalid_value', 'audio', `${message}; got ${value.length}`);
  }
  if (value.length % 4 !== 0 || !BASE64.test(value)) {
    const message = `audio must be base64-encoded ${name}; dropped`;
    throw new RealtimeInputError('bad_message', 'invalid_value', 'audio', message);
  }
  const bytes = (value.length / 4) * 3 - (value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0);
  if (format === 'pcm16' && bytes % 2 !== 0) {
    const message = `audio must hold whole 16-bit samples; got ${bytes} bytes, dropped`;
    throw new RealtimeInputError('odd_frame_length', 'invalid_value', 'audio', message);
  }
  return value;
}

// Server events. Every one carries the event_id the adapter gives it.

export function sessionEvent(
  kind: 'created' | 'updated',
  shape: RealtimeShape,
  eventId: string,
  sessionId: string,
  settings: RealtimeSettings,
): string {
  const type = shape === 'beta' ? `transcription_session.${kind}` : `session.${kind}`;
  return JSON.stringify({ type, event_id: eventId, session: sessionObject(shape, sessionId, settings) });
}

/**
 * A transcription session's settings as OpenAI shows them, in session events and with the client secrets minted for
 * one.
 */
export function sessionObject(
  shape: RealtimeShape,
  sessionId: string,
  settings: RealtimeSettings,
): Record<string, unknown> {
  const transcription = {
    model: settings.model,
    ...(settings.language === null ? {} : { language: settings.language }),
    prompt: settings.prompt,
  };
  const turnDetection =
    settings.silenceMs === null
      ? null
      : settings.eagerness !== null
        ? { type: 'semantic_vad', eagerness: settings.eagerness }
        : {
            type: 'server_vad',
            threshold: settings.threshold,
            prefix_padding_ms: settings.prefixPaddingMs,
            silence_duration_ms: settings.silenceMs,
          };
  const include = settings.logprobs ? [LOGPROBS_INCLUDE] : null;
  if (shape === 'beta') {
    return {
      id: sessionId,
      object: 'realtime.transcription_session',
      modalities: ['text'],
      input_audio_format: Object.keys(BETA_FORMATS).find((name) => BETA_FORMATS[name] === settings.format),
      input_audio_transcription: transcription,
      turn_detection: turnDetection,
      input_audio_noise_reduction: null,
      include,
    };
  }
  return {
    type: 'transcription',
    object: 'realtime.transcription_session',
    id: sessionId,
    audio: {
      input: { format: gaFormat(settings.format), transcription, noise_reduction: null, turn_detection: turnDetection },
    },
    include,
  };
}

/** A format as GA session events show it: PCM with its rate, G.711 by name. */
function gaFormat(format: RealtimeAudioFormat): { type: string; rate?: number } {
  const type = Object.keys(GA_FORMATS).find((name) => GA_FORMATS[name] === format) ?? 'audio/pcm';
  return format === 'pcm16' ? { type, rate: INPUT_RATE } : { type };
}

export function speechStartedEvent(eventId: string, itemId: string, audioStartMs: number): string {
  return JSON.stringify({
    type: 'input_audio_buffer.speech_started',
    event_id: eventId,
    audio_start_ms: audioStartMs,
    item_id: itemId,
  });
}

export function speechStoppedEvent(eventId: string, itemId: string, audioEndMs: number): string {
  return JSON.stringify({
    type: 'input_audio_buffer.speech_stopped',
    event_id: eventId,
    audio_end_ms: audioEndMs,
    item_id: itemId,
  });
}

export function committedEvent(eventId: string, itemId: string, previousItemId: string | null): string {
  return JSON.stringify({
    type: 'input_audio_buffer.committed',
    event_id: eventId,
    previous_item_id: previousItemId,
    item_id: itemId,
  });
}

/**
 * The conversation item a commit makes, as OpenAI announces it right after `input_audio_buffer.committed`: GA
 * `conversation.item.added` then `conversation.item.done` (the item is complete; its transcript comes in the
 * transcription events), beta `conversation.item.created`. `eventId` gives each event its id.
 */
export function itemEvents(
  shape: RealtimeShape,
  eventId: () => string,
  itemId: string,
  previousItemId: string | null,
): string[] {
  const item = {
    id: itemId,
    object: 'realtime.item',
    type: 'message',
    status: 'completed',
    role: 'user',
    content: [{ type: 'input_audio', transcript: null }],
  };
  const types = shape === 'ga' ? ['conversation.item.added', 'conversation.item.done'] : ['conversation.item.created'];
  return types.map((type) => JSON.stringify({ type, event_id: eventId(), previous_item_id: previousItemId, item }));
}

export function clearedEvent(eventId: string): string {
  return JSON.stringify({ type: 'input_audio_buffer.cleared', event_id: eventId });
}

/** `logprobs`: the delta's tokens, when the session's `include` asks for them (otherwise the field is left out). */
export function deltaEvent(eventId: string, itemId: string, delta: string, logprobs: LogProb[] | null = null): string {
  const type = 'conversation.item.input_audio_transcription.delta';
  const withLogprobs = logprobs ? { logprobs } : {};
  return JSON.stringify({ type, event_id: eventId, item_id: itemId, content_index: 0, delta, ...withLogprobs });
}

/** `logprobs`: all the item's tokens, when asked for. */
export function completedEvent(
  eventId: string,
  itemId: string,
  transcript: string,
  seconds: number,
  logprobs: LogProb[] | null = null,
): string {
  return JSON.stringify({
    type: 'conversation.item.input_audio_transcription.completed',
    event_id: eventId,
    item_id: itemId,
    content_index: 0,
    transcript,
    usage: { type: 'duration', seconds },
    ...(logprobs ? { logprobs } : {}),
  });
}

export function failedEvent(eventId: string, itemId: string, message: string): string {
  return JSON.stringify({
    type: 'conversation.item.input_audio_transcription.failed',
    event_id: eventId,
    item_id: itemId,
    content_index: 0,
    error: { type: 'server_error', code: 'transcription_failed', message, param: null },
  });
}

export interface RealtimeErrorFields {
  type: 'invalid_request_error' | 'server_error';
  code: string;
  message: string;
  param: string | null;
  /** The client event it concerns. */
  eventId: string | null;
}

export function errorEvent(eventId: string, error: RealtimeErrorFields): string {
  return JSON.stringify({
    type: 'error',
    event_id: eventId,
    error: { type: error.type, code: error.code, message: error.message, param: error.param, event_id: error.eventId },
  });
}
