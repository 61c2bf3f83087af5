/**
 * Where a backend that holds an API key mints short-lived tokens for its browsers, in each vendor's own form:
 * AssemblyAI's `GET /v3/token` (what `createTemporaryToken` calls) and OpenAI's `POST /v1/realtime/client_secrets`
 * (GA) and `POST /v1/realtime/transcription_sessions` (beta). Only an API key mints (not a JWT, not a token); the
 * tokens open only their vendor's WebSocket endpoint, for at most MAX_TOKEN_LIFETIME_S.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  MAX_END_SILENCE_MS,
  MIN_END_SILENCE_MS,
  PRE_PAD_MS,
  SPEECH_THRESHOLD,
  SessionError,
  type LanguagePolicy,
} from '../../engine/pipeline/index.js';
import { ProtocolError } from '../../protocol/errors.js';
import {
  DEFAULT_SILENCE_MS,
  RealtimeInputError,
  initialSession,
  sessionObject,
  type RealtimeSettings,
  type RealtimeShape,
  type SessionUpdate,
} from '../../protocol/openai-realtime.js';
import { KEY_PRINCIPAL, type Authenticator } from '../auth/authenticator.js';
import { extractCredential } from '../auth/credential.js';
import { MAX_TOKEN_LIFETIME_S } from '../auth/temporary-tokens.js';
import { json, openAiError } from './respond.js';

export const ASSEMBLYAI_PATH = '/v3/ws';
export const REALTIME_PATH = '/v1/realtime';
/** A session configuration is small; a body past this is refused unread. */
const MAX_BODY_BYTES = 64 * 1024;
/** OpenAI's own bounds on `expires_after.seconds`; above MAX_TOKEN_LIFETIME_S the server gives that much. */
const OPENAI_MIN_SECONDS = 10;
const OPENAI_MAX_SECONDS = 7200;
const OPENAI_DEFAULT_SECONDS = 600;
/** Beta transcription sessions' secrets live a minute, as OpenAI's did. */
const BETA_SECONDS = 60;
const ASSEMBLYAI_MAX_SESSION_S = 10_800;

class TokenError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

/** The caller's principal, when its credential is an API key (or authentication is off). */
async function keyHolder(
  authenticator: Authenticator,
  credential: string | undefined,
  missing: string,
): Promise<string> {
  const auth = await authenticator.verify(credential, missing);
  if (!auth.ok) throw new TokenError(401, 'unauthorized', auth.reason);
  if (authenticator.enabled && !auth.principal.startsWith(KEY_PRINCIPAL))
    throw new TokenError(403, 'forbidden', 'only an API key may mint temporary tokens (not a JWT)');
  return auth.principal;
}

export interface TokenRoutes {
  authenticator: Authenticator;
  /** The model's languages, which a client secret's session is checked against. */
  languages: LanguagePolicy;
}

/**
 * `GET /v3/token?expires_in_seconds=N[&max_session_duration_seconds=M]`, with the key in `Authorization` as
 * AssemblyAI's.
 */
export async function handleAssemblyAiToken(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  { authenticator }: TokenRoutes,
): Promise<void> {
  try {
    if (req.method !== 'GET') throw new TokenError(405, 'method_not_allowed', '/v3/token takes GET');
    const key = req.headers.authorization?.replace(/^Bearer\s+/i, '').trim();
    const principal = await keyHolder(authenticator, key || undefined, 'missing credential: send Authorization: <key>');
    const seconds = wholeNumber(query.get('expires_in_seconds'), 1, MAX_TOKEN_LIFETIME_S, 'expires_in_seconds');
    if (seconds === null)
      throw new TokenError(400, 'bad_option', `expires_in_seconds is required (1-${MAX_TOKEN_LIFETIME_S})`);
    // Accepted as AssemblyAI takes it; sessions are bounded by the server's MAX_SESSION_MS whatever it says.
    wholeNumber(
      query.get('max_session_duration_seconds'),
      60,
      ASSEMBLYAI_MAX_SESSION_S,
      'max_session_duration_seconds',
    );
    const { token } = authenticator.tokens.issue({ scope: ASSEMBLYAI_PATH, principal, singleUse: true }, seconds);
    json(res, 200, { token, expires_in_seconds: seconds });
  } catch (error) {
    if (!(error instanceof TokenError)) throw error;
    // AssemblyAI's error shape, which its SDK raises as the message.
    json(res, error.status, { error: error.message });
  }
}

/**
 * `POST /v1/realtime/client_secrets` (GA): `{expires_after: {anchor, seconds}, session: {type: "transcription", ...}}`.
 * The sessions the secret opens start with the settings of `session`, checked here as a `session.update` would be.
 */
export async function handleClientSecret(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  { authenticator, languages }: TokenRoutes,
): Promise<void> {
  await openAiRoute(res, async () => {
    const principal = await keyHolder(
      authenticator,
      extractCredential(req, query)?.token,
      'missing credential: send Authorization: Bearer <key>',
    );
    const body = await readJson(req);
    const seconds = expiresAfter(body['expires_after']);
    const session = body['session'] ?? {};
    const settings = realtimeSettings('ga', session, 'session', languages);
    const grant = { scope: REALTIME_PATH, principal, singleUse: false, session: { shape: 'ga', session } };
    const { token, expiresAtMs } = authenticator.tokens.issue(grant, seconds);
    const expiresAt = Math.floor(expiresAtMs / 1000);
    json(res, 200, {
      value: token,
      expires_at: expiresAt,
      session: { ...sessionObject('ga', sessionId(), settings), expires_at: expiresAt },
    });
  });
}

/** `POST /v1/realtime/transcription_sessions` (beta): the session's settings, answered with a `client_secret`. */
export async function handleTranscriptionSession(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  { authenticator, languages }: TokenRoutes,
): Promise<void> {
  await openAiRoute(res, async () => {
    const principal = await keyHolder(
      authenticator,
      extractCredential(req, query)?.token,
      'missing credential: send Authorization: Bearer <key>',
    );
    const session = await readJson(req);
    const settings = realtimeSettings('beta', session, '', languages);
    const grant = { scope: REALTIME_PATH, principal, singleUse: false, session: { shape: 'beta', session } };
    const { token, expiresAtMs } = authenticator.tokens.issue(grant, BETA_SECONDS);
    json(res, 200, {
      ...sessionObject('beta', sessionId(), settings),
      client_secret: { value: token, expires_at: Math.floor(expiresAtMs / 1000) },
    });
  });
}

async function openAiRoute(res: ServerResponse, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (error instanceof TokenError) return openAiError(res, error.status, error.code, error.message, error.param);
    if (error instanceof RealtimeInputError) return openAiError(res, 400, error.openAiCode, error.message, error.param);
    throw error;
  }
}

const sessionId = (): string => `sess_${randomBytes(12).toString('hex')}`;

function wholeNumber(value: string | null, min: number, max: number, name: string): number | null {
  if (value === null) return null;
  const number = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  if (!(number >= min && number <= max))
    throw new TokenError(400, 'bad_option', `${name} must be a whole number from ${min} to ${max}`);
  return number;
}

/** OpenAI's `expires_after`: its seconds (10-7200, 600 when absent), held to MAX_TOKEN_LIFETIME_S. */
function expiresAfter(value: unknown): number {
  if (value === undefined || value === null) return Math.min(OPENAI_DEFAULT_SECONDS, MAX_TOKEN_LIFETIME_S);
  const fields = typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value)) : null;
  const anchor = fields?.['anchor'] ?? 'created_at';
  const seconds = fields?.['seconds'] ?? OPENAI_DEFAULT_SECONDS;
  if (
    !fields ||
    anchor !== 'created_at' ||
    typeof seconds !== 'number' ||
    !Number.isInteger(seconds) ||
    seconds < OPENAI_MIN_SECONDS ||
    seconds > OPENAI_MAX_SECONDS
  ) {
    throw new TokenError(
      400,
      'invalid_value',
      `expires_after must be {"anchor": "created_at", "seconds": ${OPENAI_MIN_SECONDS}-${OPENAI_MAX_SECONDS}}`,
      'expires_after',
    );
  }
  return Math.min(seconds, MAX_TOKEN_LIFETIME_S);
}

/**
 * The settings a session would start with, checked as a session.update of that shape would be, and its language
 * against the model's.
 */
function realtimeSettings(
  shape: RealtimeShape,
  session: unknown,
  param: string,
  languages: LanguagePolicy,
): RealtimeSettings {
  let update: SessionUpdate;
  try {
    update = initialSession(shape, session);
    if (
      update.silenceMs !== undefined &&
      update.silenceMs !== null &&
      !(update.silenceMs >= MIN_END_SILENCE_MS && update.silenceMs <= MAX_END_SILENCE_MS)
    ) {
      const field =
        shape === 'ga'
          ? 'session.audio.input.turn_detection.silence_duration_ms'
          : 'session.turn_detection.silence_duration_ms';
      throw new RealtimeInputError(
        'bad_option',
        'invalid_value',
        field,
        `silence_duration_ms must be from ${MIN_END_SILENCE_MS} to ${MAX_END_SILENCE_MS} here; got ${update.silenceMs}`,
      );
    }
    if (update.language) languages.check(update.language);
  } catch (error) {
    if (error instanceof SessionError)
      throw new TokenError(
        400,
        error.code,
        error.message,
        param ? `${param}.audio.input.transcription.language` : 'input_audio_transcription.language',
      );
    if (error instanceof RealtimeInputError && param === '' && error.param?.startsWith('session.')) {
      // The beta body is the session itself: its params have no "session." before them.
      throw new RealtimeInputError(error.code, error.openAiCode, error.param.slice('session.'.length), error.message);
    }
    if (error instanceof ProtocolError && !(error instanceof RealtimeInputError))
      throw new TokenError(400, 'invalid_value', error.message, param || null);
    throw error;
  }
  return {
    model: update.model ?? 'whisper-1',
    language: update.language || null,
    prompt: update.prompt ?? '',
    silenceMs: update.silenceMs === undefined ? DEFAULT_SILENCE_MS : update.silenceMs,
    eagerness: update.eagerness ?? null,
    logprobs: update.logprobs ?? false,
    format: update.format ?? 'pcm16',
    threshold: SPEECH_THRESHOLD,
    prefixPaddingMs: PRE_PAD_MS,
  };
}

/** A JSON object body of at most MAX_BODY_BYTES; an empty body is an empty object. */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES)
    throw new TokenError(413, 'request_too_large', `the body may hold at most ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req) {
    bytes += (chunk as Buffer).length;
    if (bytes > MAX_BODY_BYTES)
      throw new TokenError(413, 'request_too_large', `the body may hold at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new TokenError(400, 'invalid_json', 'the body must be a JSON object');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TokenError(400, 'invalid_json', 'the body must be a JSON object');
  return Object.fromEntries(Object.entries(value));
}
