import { setTimeout as sleep } from 'node:timers/promises';
import { native } from '../engine/native.js';
import type { TranscriptionOutcome, TranscriptionRunner, TranscriptionTask } from '../engine/pipeline/index.js';
import { encodeWav } from '../engine/audio/wav.js';

export interface RemoteOptions {
  /** Full URL of an OpenAI-compatible transcription endpoint, e.g. http://speaches:8000/v1/audio/transcriptions. */
  url: string;
  /** Sent as `Authorization: Bearer`; undefined sends none. */
  token: string | undefined;
  /** Model name the remote server expects in the `model` field. */
  model: string;
  timeoutMs: number;
  /** Further attempts after a failed one (network error, timeout, 429 or 5xx). */
  retries: number;
}

interface VerboseJson {
  text?: unknown;
  language?: unknown;
  segments?: { text?: unknown; start?: unknown; end?: unknown; avg_logprob?: unknown; no_speech_prob?: unknown }[];
}

const BACKOFF_MS = 250;

class RemoteError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

const num = (value: unknown, fallback: number): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : fallback;

/** verbose_json names the language in full ("english"); the pipeline speaks codes. */
function languageCode(name: unknown, fallback: string): string {
  if (typeof name !== 'string') return fallback;
  const lower = name.toLowerCase();
  return native.languages().find((l) => l.code === lower || l.name === lower)?.code ?? fallback;
}

/**
 * Sends a transcription to another server over the OpenAI transcription API (Speaches, another instance of ours, ...)
 * as a WAV upload, with a timeout per attempt and retries with exponential backoff. Fails with a message that names
 * the remote server and what went wrong, which reaches the client as a `transcription_failed` error.
 */
export class RemoteTranscriber implements TranscriptionRunner {
  /** The URL without credentials: what requests go to, and all that error messages (which clients see) name. */
  private readonly url: string;
  private readonly authorization: string | undefined;

  constructor(private readonly options: RemoteOptions) {
    const url = new URL(options.url);
    // fetch refuses URLs with credentials; user:pass@ becomes Basic authentication unless a token is given.
    const basic =
      url.username || url.password
        ? Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')
        : undefined;
    url.username = '';
    url.password = '';
    this.url = url.toString();
    this.authorization = options.token ? `Bearer ${options.token}` : basic && `Basic ${basic}`;
  }

  async transcribe(task: TranscriptionTask, signal: AbortSignal): Promise<TranscriptionOutcome> {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return this.toOutcome(await this.post(task, signal), task, performance.now() - started);
      } catch (error) {
        if (signal.aborted) throw error;
        const retryable = !(error instanceof RemoteError) || error.retryable;
        if (!retryable || attempt >= this.options.retries) {
          const why = error instanceof Error ? error.message : String(error);
          throw new Error(`remote transcription at ${this.url} failed after ${attempt + 1} attempt(s): ${why}`);
        }
        await sleep(BACKOFF_MS * 2 ** attempt, undefined, { signal });
      }
    }
  }

  private async post(task: TranscriptionTask, signal: AbortSignal): Promise<VerboseJson> {
    const form = new FormData();
    form.append('file', new Blob([encodeWav(task.pcm)], { type: 'audio/wav' }), 'utterance.wav');
    form.append('model', this.options.model);
    form.append('response_format', 'verbose_json');
    const language = task.options.language;
    if (language && language !== 'auto') form.append('language', language);
    if (task.options.prompt) form.append('prompt', task.options.prompt);
    // A timer of our own, held until the request settles: AbortSignal.timeout() inside AbortSignal.any() can be
    // garbage-collected before it fires (Node 20), which left a hung remote holding a final for undici's 300 s.
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new RemoteError(`no answer within ${this.options.timeoutMs} ms`, true)),
      this.options.timeoutMs,
    );
    const stop = (): void => deadline.abort(signal.reason);
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    try {
      let response: Response;
      try {
        response = await fetch(this.url, {
          method: 'POST',
          body: form,
          headers: this.authorization ? { authorization: this.authorization } : {},
          signal: deadline.signal,
        });
      } catch (error) {
        if (deadline.signal.reason instanceof RemoteError) throw deadline.signal.reason;
        const cause = (error as { cause?: { code?: string } }).cause?.code;
        throw new RemoteError(`cannot reach it (${cause ?? (error as Error).message})`, true);
      }
      if (!response.ok) {
        const detail = (await response.text()).slice(0, 300);
        throw new RemoteError(`HTTP ${response.status}: ${detail}`, response.status === 429 || response.status >= 500);
      }
      return (await response.json()) as VerboseJson;
    } catch (error) {
      if (deadline.signal.reason instanceof RemoteError && !(error instanceof RemoteError))
        throw deadline.signal.reason;
      throw error;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
    }
  }

  private toOutcome(body: VerboseJson, task: TranscriptionTask, totalMs: number): TranscriptionOutcome {
    const text = typeof body.text === 'string' ? body.text.trim() : '';
    const segments = (body.segments ?? []).map((s) => ({
      text: typeof s.text === 'string' ? s.text : '',
      startMs: num(s.start, 0) * 1000,
      endMs: num(s.end, 0) * 1000,
      avgLogProb: num(s.avg_logprob, 0),
      noSpeechProb: num(s.no_speech_prob, 0),
      tokens: [],
    }));
    return {
      text,
      language: languageCode(body.language, task.options.language ?? 'en'),
      segments:
        segments.length > 0 ? segments : [{ text, startMs: 0, endMs: 0, avgLogProb: 0, noSpeechProb: 0, tokens: [] }],
      timings: { encodeMs: 0, decodeMs: 0, totalMs },
    };
  }
}

/** Finals go to the remote server, partials stay on the local pool. */
export class ForwardingRunner implements TranscriptionRunner {
  constructor(
    private readonly local: TranscriptionRunner,
    private readonly remote: TranscriptionRunner,
  ) {}

  transcribe(task: TranscriptionTask, signal: AbortSignal): Promise<TranscriptionOutcome> {
    return (task.kind === 'final' ? this.remote : this.local).transcribe(task, signal);
  }
}
