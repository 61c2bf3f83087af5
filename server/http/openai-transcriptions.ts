import type { IncomingMessage, ServerResponse } from 'node:http';
import busboy from 'busboy';
import { Resampler } from '../../engine/audio/resampler.js';
import { SAMPLE_RATE, SessionError, type LanguagePolicy, type TranscriptionOutcome, type TranscriptionScheduler } from '../../engine/pipeline/index.js';
import { parseWav, WavFormatError } from '../../engine/audio/wav.js';
import { native } from '../../engine/native.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Logger } from '../log.js';

export interface TranscriptionsOptions {
  scheduler: TranscriptionScheduler;
  authenticator: Authenticator;
  languages: LanguagePolicy;
  defaultLanguage: string;
  maxUploadBytes: number;
  beamSize: number;
  threads: number;
  log: Logger;
}

type ResponseFormat = 'json' | 'text' | 'verbose_json';
const FORMATS: readonly ResponseFormat[] = ['json', 'text', 'verbose_json'];

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
  fields: Map<string, string>;
}

/** Reads the multipart body, refusing it once it passes the size limit. */
function readUpload(req: IncomingMessage, maxBytes: number): Promise<Upload> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: maxBytes, files: 1, fields: 20 } });
    } catch {
      reject(new ApiError(400, 'invalid_request', 'the body must be multipart/form-data with a "file" field'));
      return;
    }
    const upload: Upload = { file: undefined, fields: new Map() };
    parser.on('field', (name, value) => upload.fields.set(name, value));
    parser.on('file', (name, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => reject(new ApiError(413, 'file_too_large', `the file is larger than ${maxBytes} bytes`, 'file')));
      stream.on('close', () => {
        if (name === 'file') upload.file = Buffer.concat(chunks);
      });
    });
    parser.on('error', () => reject(new ApiError(400, 'invalid_request', 'the multipart body could not be parsed')));
    parser.on('close', () => resolve(upload));
    req.pipe(parser);
  });
}

function toPcm16kMono(file: Buffer): Int16Array {
  const wav = parseWav(file);
  if (wav.samples.length === 0) throw new ApiError(400, 'empty_audio', 'the WAV file holds no samples', 'file');
  if (wav.sampleRate === SAMPLE_RATE && wav.channels === 1) return wav.samples;
  return new Resampler(wav.sampleRate, wav.channels).process(wav.samples);
}

function send(res: ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res: ServerResponse, error: ApiError): void {
  const body = { error: { message: error.message, type: 'invalid_request_error', param: error.param, code: error.code } };
  send(res, error.status, JSON.stringify(body), 'application/json');
}

function render(format: ResponseFormat, outcome: TranscriptionOutcome, durationMs: number): [string, string] {
  if (format === 'text') return [`${outcome.text}\n`, 'text/plain; charset=utf-8'];
  if (format === 'json') return [JSON.stringify({ text: outcome.text }), 'application/json'];
  const name = native.languages().find((l) => l.code === outcome.language)?.name ?? outcome.language;
  return [
    JSON.stringify({
      task: 'transcribe',
      language: name,
      duration: durationMs / 1000,
      text: outcome.text,
      segments: outcome.segments.map((s, id) => ({
        id,
        start: s.startMs / 1000,
        end: s.endMs / 1000,
        text: s.text,
        avg_logprob: s.avgLogProb,
        no_speech_prob: s.noSpeechProb,
      })),
    }),
    'application/json',
  ];
}

/**
 * `POST /v1/audio/transcriptions`, shaped like OpenAI's endpoint: multipart with `file` (WAV, 16-bit PCM, any rate),
 * optional `model` (accepted and ignored: the server has one), `language`, `prompt`, `response_format`. The work
 * goes through the same scheduler as streaming finals, so uploads and live streams share the pool fairly.
 */
export async function handleTranscriptions(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, options: TranscriptionsOptions): Promise<void> {
  try {
    const auth = await options.authenticator.authenticate(req, query);
    if (!auth.ok) throw new ApiError(401, 'unauthorized', auth.reason);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > options.maxUploadBytes + 64 * 1024) {
      throw new ApiError(413, 'file_too_large', `the request is larger than ${options.maxUploadBytes} bytes`, 'file');
    }
    const upload = await readUpload(req, options.maxUploadBytes);
    if (!upload.file) throw new ApiError(400, 'missing_file', 'the "file" field (a WAV file) is required', 'file');
    const format = (upload.fields.get('response_format') ?? 'json') as ResponseFormat;
    if (!FORMATS.includes(format)) {
      throw new ApiError(400, 'unsupported_response_format', `response_format must be one of ${FORMATS.join(', ')}`, 'response_format');
    }
    let language: string;
    try {
      language = options.languages.check(upload.fields.get('language') || options.defaultLanguage);
    } catch (error) {
      if (error instanceof SessionError) throw new ApiError(400, error.code, error.message, 'language');
      throw error;
    }
    let pcm: Int16Array;
    try {
      pcm = toPcm16kMono(upload.file);
    } catch (error) {
      if (error instanceof WavFormatError) throw new ApiError(400, 'unsupported_audio', `${error.message}; send a 16-bit PCM WAV file`, 'file');
      throw error;
    }
    const durationMs = (pcm.length / SAMPLE_RATE) * 1000;
    const prompt = upload.fields.get('prompt');
    const aborted = new AbortController();
    res.once('close', () => aborted.abort());
    const outcome = await options.scheduler.final(
      {},
      () => ({
        kind: 'final',
        pcm,
        options: { language, beamSize: options.beamSize, threads: options.threads, temperatureFallback: false, ...(prompt ? { prompt } : {}) },
      }),
      aborted.signal,
    );
    if (outcome === null) return;
    const [body, type] = render(format, outcome, durationMs);
    send(res, 200, body, type);
  } catch (error) {
    if (error instanceof ApiError) {
      sendError(res, error);
      return;
    }
    options.log.error('transcription request failed', { error });
    sendError(res, new ApiError(500, 'internal_error', 'the transcription failed'));
  }
}
