/**
 * `POST /v1/audio/transcriptions` and `/v1/audio/translations`, shaped like OpenAI's endpoints: multipart with `file`
 * (WAV, MP3, FLAC, Ogg Opus or Vorbis, WebM Opus; 8-192 kHz, up to 8 channels), optional `model` (accepted and
 * ignored: the server has one), `language`, `prompt`, `response_format`, `timestamp_granularities[]` and `stream`
 * (server-sent events, a delta per 30 s window). Everything the client controls is bounded before any work; the body
 * must keep arriving, a client that leaves ends its upload at once, reading and decoding the file run on a worker
 * thread, and transcription in 30 s windows that the scheduler runs after live sessions' work. Every error is in
 * OpenAI's `{"error": {...}}` shape.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import busboy from 'busboy';
import type { AudioErrorCode } from '../../engine/codecs/errors.js';
import { native } from '../../engine/native.js';
import {
  SAMPLE_RATE,
  SessionError,
  transcribeLong,
  wordsOf,
  type LanguagePolicy,
  type OutcomeSegment,
  type TranscriptionOutcome,
  type TranscriptionScheduler,
} from '../../engine/pipeline/index.js';
import { MAX_PROMPT_CHARS, ProtocolError, checkPrompt } from '../../protocol/errors.js';
import type { AudioDecoder } from '../../workers/audio-decoder.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Logger } from '../log.js';
import { openAiError } from './respond.js';
import type { UploadGate } from './upload-gate.js';

export interface TranscriptionsOptions {
  scheduler: TranscriptionScheduler;
  authenticator: Authenticator;
  languages: LanguagePolicy;
  defaultLanguage: string;
  uploads: UploadGate;
  decoder: AudioDecoder;
  maxUploadBytes: number;
  maxUploadSeconds: number;
  beamSize: number;
  threads: number;
  log: Logger;
  /** Translations give English text whatever the language spoken (Whisper's translate task). */
  task: 'transcribe' | 'translate';
  /** Why this server cannot translate (an English-only model, say), or null when it can. */
  translationUnavailable: string | null;
}

type ResponseFormat = 'json' | 'text' | 'verbose_json';
const FORMATS: readonly ResponseFormat[] = ['json', 'text', 'verbose_json'];
const GRANULARITIES = ['word', 'segment'] as const;
type Granularity = (typeof GRANULARITIES)[number];
/** Sample rates and channel counts a file may have: what microphones and files use, and nothing that costs absurdly. */
export const MIN_SAMPLE_RATE = 8000;
export const MAX_SAMPLE_RATE = 192_000;
export const MAX_CHANNELS = 8;
/** Longest form field: a prompt at its limit, with room for multi-byte characters. */
const MAX_FIELD_BYTES = MAX_PROMPT_CHARS * 4;
const RETRY_AFTER_S = '5';
/**
 * A body must keep coming: after BODY_GRACE_MS it must average BODY_MIN_BYTES_PER_S, and it may never pause longer
 * than BODY_IDLE_MS. Otherwise the upload ends with 408 and its slot goes to the next (a slow-loris body would hold
 * it).
 */
const BODY_GRACE_MS = 10_000;
const BODY_MIN_BYTES_PER_S = 32 * 1024;
const BODY_IDLE_MS = 10_000;
const BODY_CHECK_MS = 1000;
/** HTTP status of each reason a file is refused. */
const AUDIO_STATUS: Record<AudioErrorCode, 400 | 413> = {
  unsupported_audio: 400,
  bad_audio: 400,
  empty_audio: 400,
  audio_too_long: 413,
  frame_too_large: 413,
};

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

interface Upload {
  file: Buffer | undefined;
  fields: Map<string, string[]>;
}

/**
 * Reads the multipart body, refusing it once it passes a size limit, when it stalls or crawls, and when the client
 * goes away before it is all there (the caller's slot is released either way).
 */
function readUpload(req: IncomingMessage, maxBytes: number): Promise<Upload> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: MAX_FIELD_BYTES, parts: 24 },
      });
    } catch {
      reject(new ApiError(400, 'invalid_request', 'the body must be multipart/form-data with a "file" field'));
      return;
    }
    const started = performance.now();
    let received = 0;
    let lastData = started;
    const watch = setInterval(() => {
      const now = performance.now();
      const late = now - started > BODY_GRACE_MS && received < ((now - started) / 1000) * BODY_MIN_BYTES_PER_S;
      if (!late && now - lastData <= BODY_IDLE_MS) return;
      const pace =
        `${BODY_MIN_BYTES_PER_S / 1024} KiB/s after ${BODY_GRACE_MS / 1000} s, no pause over ` +
        `${BODY_IDLE_MS / 1000} s`;
      fail(new ApiError(408, 'request_timeout', `the body arrived too slowly (at least ${pace})`));
    }, BODY_CHECK_MS);
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      lastData = performance.now();
    };
    const onClose = (): void => {
      if (req.complete) return;
      fail(new ApiError(400, 'incomplete_body', 'the client went away before its body was all there'));
    };
    const settle = (): void => {
      clearInterval(watch);
      req.off('data', onData);
      req.off('close', onClose);
    };
    // The parser keeps reading what still comes (destroying it mid-write would crash busboy); the answer closes the
    // connection when the body is not all there.
    const fail = (error: ApiError): void => {
      settle();
      reject(error);
    };
    req.on('data', onData);
    req.once('close', onClose);
    const upload: Upload = { file: undefined, fields: new Map() };
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) {
        const code = name === 'prompt' ? 'prompt_too_long' : 'field_too_long';
        fail(
          new ApiError(
            400,
            code,
            `the "${name.slice(0, 40)}" field is longer than the server takes (prompts: ${MAX_PROMPT_CHARS} ` +
              'characters)',
            name.slice(0, 40),
          ),
        );
        return;
      }
      upload.fields.set(name, [...(upload.fields.get(name) ?? []), value]);
    });
    parser.on('file', (name, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () =>
        fail(new ApiError(413, 'file_too_large', `the file is larger than ${maxBytes} bytes`, 'file')),
      );
      stream.on('close', () => {
        if (name === 'file') upload.file = Buffer.concat(chunks);
      });
    });
    parser.on('partsLimit', () => fail(new ApiError(400, 'invalid_request', 'the form has too many parts')));
    parser.on('fieldsLimit', () => fail(new ApiError(400, 'invalid_request', 'the form has too many fields')));
    parser.on('error', () => fail(new ApiError(400, 'invalid_request', 'the multipart body could not be parsed')));
    parser.on('close', () => {
      settle();
      resolve(upload);
    });
    req.pipe(parser);
  });
}

const field = (upload: Upload, name: string): string | undefined => upload.fields.get(name)?.[0];

function granularities(upload: Upload): Set<Granularity> {
  const asked = [
    ...(upload.fields.get('timestamp_granularities[]') ?? []),
    ...(upload.fields.get('timestamp_granularities') ?? []),
  ];
  const out = new Set<Granularity>();
  for (const value of asked) {
    const known = GRANULARITIES.find((g) => g === value);
    if (!known)
      throw new ApiError(
        400,
        'invalid_value',
        `timestamp_granularities[] takes "word" and "segment"`,
        'timestamp_granularities[]',
      );
    out.add(known);
  }
  return out;
}

/** `stream`: "true" or "false", as a form sends booleans. */
function streamed(upload: Upload): boolean {
  const value = field(upload, 'stream');
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new ApiError(400, 'invalid_value', 'stream must be "true" or "false"', 'stream');
}

function render(
  format: ResponseFormat,
  outcome: TranscriptionOutcome,
  durationMs: number,
  detail: Set<Granularity>,
  task: 'transcribe' | 'translate',
): [string, string] {
  if (format === 'text') return [`${outcome.text}\n`, 'text/plain; charset=utf-8'];
  if (format === 'json') return [JSON.stringify({ text: outcome.text }), 'application/json'];
  // A translation's language is that of its text, as OpenAI's says.
  const code = task === 'translate' ? 'en' : outcome.language;
  const name = native.languages().find((l) => l.code === code)?.name ?? code;
  const body: Record<string, unknown> = { task, language: name, duration: durationMs / 1000, text: outcome.text };
  if (detail.size === 0 || detail.has('segment')) {
    body['segments'] = outcome.segments.map((s, id) => ({
      id,
      start: s.startMs / 1000,
      end: s.endMs / 1000,
      text: s.text,
      avg_logprob: s.avgLogProb,
      no_speech_prob: s.noSpeechProb,
    }));
  }
  if (detail.has('word')) {
    body['words'] = outcome.segments.flatMap((s) =>
      wordsOf(s.text.trim(), { ...outcome, segments: [s] }, s.endMs, s.startMs).map((w) => ({
        word: w.text,
        start: w.startMs / 1000,
        end: w.endMs / 1000,
      })),
    );
  }
  return [JSON.stringify(body), 'application/json'];
}

/**
 * Answers with server-sent events as OpenAI's streaming transcription does: `transcript.text.delta` as each 30 s
 * window is done, then `transcript.text.done`. The deltas put together are exactly the done event's text.
 */
async function streamTranscription(
  res: ServerResponse,
  transcribe: (onWindow: (segments: OutcomeSegment[]) => void) => Promise<TranscriptionOutcome | null>,
): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' });
  const event = (body: Record<string, unknown>): boolean => res.write(`data: ${JSON.stringify(body)}\n\n`);
  let raw = '';
  let sent = 0;
  const outcome = await transcribe((segments) => {
    raw += segments.map((s) => s.text).join('');
    // Trimmed text only grows at its end as windows are added, so what was sent stays a prefix of it.
    const shown = raw.trim();
    if (shown.length > sent) event({ type: 'transcript.text.delta', delta: shown.slice(sent) });
    sent = shown.length;
  });
  if (outcome) event({ type: 'transcript.text.done', text: outcome.text });
  res.end();
}

/** Who an upload's quota belongs to: the principal, or the client's address when authentication is off. */
const quotaKey = (req: IncomingMessage, principal: string, authenticated: boolean): string =>
  authenticated ? principal : `addr:${req.socket.remoteAddress ?? 'unknown'}`;

export async function handleTranscriptions(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  options: TranscriptionsOptions,
): Promise<void> {
  let release = (): void => undefined;
  // A client that leaves, at any point, ends its upload's decoding and transcription.
  const aborted = new AbortController();
  res.once('close', () => aborted.abort());
  try {
    const auth = await options.authenticator.authenticate(req, query);
    if (!auth.ok) throw new ApiError(401, 'unauthorized', auth.reason);
    if (options.task === 'translate' && options.translationUnavailable !== null)
      throw new ApiError(400, 'translation_unavailable', options.translationUnavailable, 'model');
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > options.maxUploadBytes + 64 * 1024) {
      throw new ApiError(413, 'file_too_large', `the request is larger than ${options.maxUploadBytes} bytes`, 'file');
    }
    const admission = options.uploads.admit(quotaKey(req, auth.principal, options.authenticator.enabled));
    if (!admission.ok)
      throw new ApiError(
        admission.status,
        admission.status === 429 ? 'rate_limit_exceeded' : 'server_busy',
        admission.reason,
      );
    release = admission.release;
    const upload = await readUpload(req, options.maxUploadBytes);
    if (!upload.file) throw new ApiError(400, 'missing_file', 'the "file" field (an audio file) is required', 'file');
    const formatField = field(upload, 'response_format') ?? 'json';
    const format = FORMATS.find((f) => f === formatField);
    if (!format)
      throw new ApiError(
        400,
        'unsupported_response_format',
        `response_format must be one of ${FORMATS.join(', ')}`,
        'response_format',
      );
    const detail = granularities(upload);
    if (detail.size > 0 && format !== 'verbose_json') {
      throw new ApiError(
        400,
        'invalid_value',
        'timestamp_granularities[] needs response_format verbose_json',
        'timestamp_granularities[]',
      );
    }
    const stream = streamed(upload);
    if (stream && format === 'verbose_json')
      throw new ApiError(
        400,
        'invalid_value',
        'stream=true answers with text events; verbose_json cannot be streamed',
        'stream',
      );
    let language: string;
    try {
      // What is spoken in a file to translate is whatever it is: detected unless the client says.
      language = options.languages.check(
        field(upload, 'language') || (options.task === 'translate' ? 'auto' : options.defaultLanguage),
      );
    } catch (error) {
      if (error instanceof SessionError) throw new ApiError(400, error.code, error.message, 'language');
      throw error;
    }
    const prompt = field(upload, 'prompt') ?? '';
    try {
      checkPrompt(prompt);
    } catch (error) {
      if (error instanceof ProtocolError) throw new ApiError(400, error.code, error.message, 'prompt');
      throw error;
    }
    const limits = {
      maxSeconds: options.maxUploadSeconds,
      minRate: MIN_SAMPLE_RATE,
      maxRate: MAX_SAMPLE_RATE,
      maxChannels: MAX_CHANNELS,
    };
    const decoded = await options.decoder.decode(upload.file, limits, aborted.signal);
    if (!decoded.ok) throw new ApiError(AUDIO_STATUS[decoded.code], decoded.code, decoded.message, 'file');
    const pcm = decoded.pcm;
    const owner = {};
    const transcribe = (onWindow?: (segments: OutcomeSegment[]) => void): Promise<TranscriptionOutcome | null> =>
      transcribeLong(
        pcm,
        {
          language,
          beamSize: options.beamSize,
          threads: options.threads,
          prompt,
          translate: options.task === 'translate',
        },
        // A window is not even queued once the client has gone (its abort came before the window existed).
        (window, decode) =>
          aborted.signal.aborted
            ? Promise.resolve(null)
            : options.scheduler.upload(owner, () => ({ kind: 'final', pcm: window, options: decode }), aborted.signal),
        onWindow,
      );
    if (stream) return await streamTranscription(res, transcribe);
    const outcome = await transcribe();
    if (outcome === null) return;
    const [body, type] = render(format, outcome, (pcm.length / SAMPLE_RATE) * 1000, detail, options.task);
    res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } catch (error) {
    // A client that left is owed nothing (its decode was stopped, its windows withdrawn).
    if (aborted.signal.aborted && res.destroyed) return;
    // Once events flow the status is sent: the failure becomes the last event, which OpenAI's SDK raises.
    if (res.headersSent) {
      if (!(error instanceof ApiError)) options.log.error('transcription request failed', { error });
      const message = error instanceof ApiError ? error.message : 'the transcription failed';
      const event = {
        type: 'error',
        error: { message, type: 'server_error', param: null, code: 'transcription_failed' },
      };
      res.end(`data: ${JSON.stringify(event)}\n\n`);
      return;
    }
    if (error instanceof ApiError) {
      const headers: Record<string, string> =
        error.status === 429 || error.status === 503 ? { 'Retry-After': RETRY_AFTER_S } : {};
      // The client may still be sending a body the server refused: close rather than read it.
      if (!req.complete) headers['Connection'] = 'close';
      openAiError(res, error.status, error.code, error.message, error.param, headers);
      return;
    }
    options.log.error('transcription request failed', { error });
    openAiError(res, 500, 'internal_error', 'the transcription failed');
  } finally {
    release();
  }
}
