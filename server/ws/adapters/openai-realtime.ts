/**
 * OpenAI Realtime transcription (protocol/openai-realtime.ts) as an adapter: base64 PCM16 at 24 kHz (or G.711 at
 * 8 kHz, as the session's format says) in, one conversation item per speech turn out. Its deltas are the turn's
 * segment finals as they come (append-only: text that never changes), and its completed transcript is exactly their
 * concatenation.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { RawPcmConverter } from '../../../engine/codecs/raw-pcm.js';
import {
  MAX_END_SILENCE_MS,
  MIN_END_SILENCE_MS,
  PRE_PAD_MS,
  SPEECH_THRESHOLD,
  msToSamples,
  type SpeechEvent,
  type TokenProbability,
  type TranscriptEvent,
} from '../../../engine/pipeline/index.js';
import { ProtocolError, excerpt, type ErrorCode } from '../../../protocol/errors.js';
import {
  DEFAULT_SILENCE_MS,
  G711_RATE,
  INPUT_RATE,
  RealtimeInputError,
  clearedEvent,
  clientEventId,
  committedEvent,
  completedEvent,
  deltaEvent,
  errorEvent,
  failedEvent,
  initialSession,
  itemEvents,
  parseClientEvent,
  parseEventObject,
  sessionEvent,
  speechStartedEvent,
  speechStoppedEvent,
  type LogProb,
  type RealtimeAudioFormat,
  type RealtimeClientEvent,
  type RealtimeSettings,
  type RealtimeShape,
  type SessionUpdate,
} from '../../../protocol/openai-realtime.js';
import { realtimeHeaderCredential } from '../../auth/realtime-credential.js';
import { tokenSession } from '../../auth/temporary-tokens.js';
import type { Command, ProtocolAdapter, SessionInfo, SessionOptions } from '../adapter.js';
import type { Frame } from '../ws-transport.js';
import { split } from './audio-input.js';

/** A speech turn as the client sees it: its item, the deltas sent so far, and whether it was committed. */
interface Item {
  id: string;
  deltas: string[];
  /** The deltas' tokens, for the completed event's logprobs. */
  logprobs: LogProb[];
  committed: boolean;
  /** Where its speech began (for the usage completed reports). */
  startMs: number | null;
}

/** Less audio than this since the last commit is nothing to commit (as OpenAI's servers have it). */
const MIN_COMMIT_MS = 100;
/** The least probability a log is taken of: a token of probability 0 has none, and JSON has no -Infinity. */
const MIN_TOKEN_P = 1e-10;

const logProbs = (tokens: TokenProbability[]): LogProb[] =>
  tokens.map(({ text, p }) => ({
    token: text,
    logprob: Math.log(Math.max(p, MIN_TOKEN_P)),
    bytes: [...Buffer.from(text, 'utf8')],
  }));

/** A converter to 16 kHz mono for appends in `format`. */
const converterFor = (format: RealtimeAudioFormat): RawPcmConverter =>
  format === 'pcm16'
    ? new RawPcmConverter('linear16', INPUT_RATE, 1)
    : new RawPcmConverter(format === 'pcmu' ? 'mulaw' : 'alaw', G711_RATE, 1);

/**
 * The adapter for an upgrade to /v1/realtime (`?intent=transcription`, or `?model=` with any name); refuses a query
 * that asks for what this server does not run. Beta clients say so in a header or subprotocol and get beta events. A
 * connection opened with a client secret starts with the settings the secret was minted with.
 */
export function realtimeAdapter(
  send: (message: string) => void,
  query: URLSearchParams,
  headers: IncomingHttpHeaders,
): OpenAiRealtimeAdapter {
  const intent = query.get('intent');
  if (intent !== null && intent !== 'transcription') {
    throw new ProtocolError(
      'bad_option',
      `this server runs transcription sessions only: intent must be "transcription", not ${excerpt(intent)}`,
    );
  }
  if (query.has('call_id')) throw new ProtocolError('bad_option', 'this server has no calls to attach to (call_id)');
  const protocols = (headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const beta =
    /\brealtime=v1\b/.test(String(headers['openai-beta'] ?? '')) || protocols.includes('openai-beta.realtime-v1');
  return new OpenAiRealtimeAdapter(send, beta ? 'beta' : 'ga', secretSession(realtimeHeaderCredential(headers)));
}

/** The settings a client secret carries (checked when it was minted, and read again the same way), or null. */
function secretSession(credential: string | undefined): SessionUpdate | null {
  const carried = tokenSession(credential);
  if (typeof carried !== 'object' || carried === null) return null;
  const shape = Reflect.get(carried, 'shape');
  if (shape !== 'ga' && shape !== 'beta') return null;
  try {
    return initialSession(shape, Reflect.get(carried, 'session'));
  } catch {
    return null;
  }
}

export class OpenAiRealtimeAdapter implements ProtocolAdapter<Frame> {
  readonly protocol = 'openai-realtime';
  readonly startsAtConnect = true;
  readonly resumable = false;
  /** OpenAI's defaults: server VAD with 500 ms of silence. */
  readonly connectOptions: SessionOptions = { endpointingMs: DEFAULT_SILENCE_MS };
  /** Ids of this connection's events and items: a random part, then a counter or the utterance number. */
  private readonly idPrefix = randomBytes(8).toString('hex');
  private nextEventId = 0;
  private sessionId = '';
  private settings: RealtimeSettings = {
    model: 'whisper-1',
    language: null,
    prompt: '',
    silenceMs: DEFAULT_SILENCE_MS,
    eagerness: null,
    logprobs: false,
    format: 'pcm16',
    threshold: SPEECH_THRESHOLD,
    prefixPaddingMs: PRE_PAD_MS,
  };
  /** The appends' format, changed by a session.update as soon as it is read (the appends after it are in it). */
  private format: RealtimeAudioFormat = 'pcm16';
  private input = converterFor('pcm16');
  /** Turns not yet completed, by turn id. */
  private readonly items = new Map<number, Item>();
  private previousItemId: string | null = null;
  /** The newest turn whose item completed; turns end in order. */
  private completedThrough = -1;
  /** While a commit runs: the turns that ended meanwhile (none: no speech was going on). */
  private committing: number[] | null = null;
  /** Audio received, and where the latest item (or commit) ended: what a commit without speech would commit. */
  private samplesReceived = 0;
  private committedTo = 0;
  /** Items made by commits of audio without speech. */
  private silentItems = 0;
  /** The `event_id` of the client event being handled, which errors about it quote. */
  private clientEventId: string | null = null;
  /** The refusal this adapter threw, for its OpenAI code and param when the binding reports it. */
  private refusal: RealtimeInputError | null = null;
  /** Why the latest transcription failed: an utterance that then completes without text failed. */
  private failure: string | null = null;

  /**
   * `shape`: the beta event names when the client asked for them at connect (OpenAI-Beta: realtime=v1). `initial`:
   * the settings of the client secret the connection was opened with, which its session starts with.
   */
  constructor(
    private readonly send: (message: string) => void,
    private shape: RealtimeShape,
    initial: SessionUpdate | null = null,
  ) {
    if (!initial) return;
    const silenceMs = initial.silenceMs === undefined ? DEFAULT_SILENCE_MS : initial.silenceMs;
    this.connectOptions = {
      endpointingMs: silenceMs,
      ...(initial.language ? { language: initial.language } : {}),
      ...(initial.prompt === undefined ? {} : { prompt: initial.prompt }),
    };
    this.settings = {
      ...this.settings,
      ...(initial.model === undefined ? {} : { model: initial.model }),
      ...(initial.language ? { language: initial.language } : {}),
      ...(initial.prompt === undefined ? {} : { prompt: initial.prompt }),
      ...(initial.logprobs === undefined ? {} : { logprobs: initial.logprobs }),
      silenceMs,
      eagerness: initial.silenceMs === undefined ? null : (initial.eagerness ?? null),
    };
    if (initial.format) {
      this.format = initial.format;
      this.settings.format = initial.format;
      this.input = converterFor(initial.format);
    }
  }

  decode(frame: Frame): Command[] {
    this.clientEventId = null;
    try {
      if (frame.binary) {
        throw new RealtimeInputError(
          'bad_message',
          'invalid_type',
          null,
          'send audio in input_audio_buffer.append events (JSON, base64 PCM16), not in binary frames',
        );
      }
      const fields = parseEventObject(frame.data.toString('utf8'));
      this.clientEventId = clientEventId(fields);
      return this.commands(parseClientEvent(fields, this.format));
    } catch (error) {
      if (error instanceof RealtimeInputError) this.refusal = error;
      throw error;
    }
  }

  started(session: SessionInfo): void {
    this.sessionId = `sess_${session.id}`;
    this.send(sessionEvent('created', this.shape, this.eventId(), this.sessionId, this.settings));
  }

  /** Only finals make deltas: partials may still change, and a delta is never taken back. */
  transcript(event: TranscriptEvent): void {
    if (!event.isFinal) return;
    const item = this.item(event.turnId);
    if (event.text !== '') {
      const delta = item.deltas.length > 0 ? ` ${event.text}` : event.text;
      item.deltas.push(delta);
      const logprobs = logProbs(event.tokens ?? []);
      item.logprobs.push(...logprobs);
      this.send(deltaEvent(this.eventId(), item.id, delta, this.settings.logprobs ? logprobs : null));
    }
    if (event.endOfSpeech) this.complete(event.turnId, event.endMs);
  }

  speech(event: SpeechEvent): void {
    if (event.type === 'stopped') this.committing?.push(event.turnId);
    else this.failure = null;
    const item = this.item(event.turnId);
    if (event.type === 'started') item.startMs = event.ms;
    // Like OpenAI's, VAD events only come with server VAD; the commit of the turn's audio comes either way.
    if (this.settings.silenceMs !== null) {
      this.send(
        event.type === 'started'
          ? speechStartedEvent(this.eventId(), item.id, event.ms)
          : speechStoppedEvent(this.eventId(), item.id, event.ms),
      );
    }
    if (event.type === 'stopped') {
      this.commit(item);
      this.committedTo = Math.max(this.committedTo, msToSamples(event.ms));
    }
  }

  audio(samplesReceived: number): void {
    this.samplesReceived = samplesReceived;
  }

  error(code: ErrorCode, message: string): void {
    const refusal = this.refusal?.code === code && this.refusal.message === message ? this.refusal : null;
    this.refusal = null;
    if (code === 'transcription_failed') {
      this.failure = message;
      return;
    }
    const serverSide = code === 'overloaded' || code === 'internal_error';
    this.send(
      errorEvent(this.eventId(), {
        type: serverSide ? 'server_error' : 'invalid_request_error',
        code: refusal?.openAiCode ?? code,
        message,
        param: refusal?.param ?? null,
        // An overload warning concerns no event of the client's.
        eventId: code === 'overloaded' ? null : this.clientEventId,
      }),
    );
  }

  stopped(): void {}

  closing(): void {}

  private commands(event: RealtimeClientEvent): Command[] {
    switch (event.type) {
      case 'session.update':
        return [this.configure(event.update)];
      case 'input_audio_buffer.append':
        return this.audioCommands(event.audio);
      case 'input_audio_buffer.commit': {
        const ended: number[] = [];
        this.committing = ended;
        const done = (): void => {
          this.committing = null;
          if (ended.length > 0) return;
          if (this.samplesReceived - this.committedTo < msToSamples(MIN_COMMIT_MS)) {
            this.refuse(
              'input_audio_buffer_commit_empty',
              null,
              `nothing to commit: less than ${MIN_COMMIT_MS} ms of audio since the last commit`,
            );
          }
          this.silentItem();
        };
        // A committed turn that held no words sends nothing of its own; the client still gets its item.
        const settled = (): void => {
          for (const turnId of ended) if (turnId > this.completedThrough) this.complete(turnId, null);
        };
        return [{ type: 'flush', done, settled }];
      }
      case 'input_audio_buffer.clear':
        return [{ type: 'discard', done: () => this.send(clearedEvent(this.eventId())) }];
    }
  }

  private configure(update: SessionUpdate): Command {
    const silenceMs = update.silenceMs;
    if (
      silenceMs !== undefined &&
      silenceMs !== null &&
      !(silenceMs >= MIN_END_SILENCE_MS && silenceMs <= MAX_END_SILENCE_MS)
    ) {
      const param =
        update.shape === 'ga'
          ? 'session.audio.input.turn_detection.silence_duration_ms'
          : 'session.turn_detection.silence_duration_ms';
      this.refuse(
        'invalid_value',
        param,
        `silence_duration_ms must be from ${MIN_END_SILENCE_MS} to ${MAX_END_SILENCE_MS} here; got ${silenceMs}`,
      );
    }
    if (update.format !== undefined && update.format !== this.format) {
      this.format = update.format;
      this.input = converterFor(update.format);
    }
    const options: SessionOptions = {};
    // '' names no language: the session keeps the one it has.
    if (update.language) options.language = update.language;
    if (update.prompt !== undefined) options.prompt = update.prompt;
    if (silenceMs !== undefined) options.endpointingMs = silenceMs;
    const done = (): void => {
      this.shape = update.shape;
      this.settings = {
        ...this.settings,
        ...(update.model === undefined ? {} : { model: update.model }),
        ...(options.language === undefined ? {} : { language: options.language }),
        ...(update.prompt === undefined ? {} : { prompt: update.prompt }),
        ...(silenceMs === undefined ? {} : { silenceMs, eagerness: update.eagerness ?? null }),
        ...(update.format === undefined ? {} : { format: update.format }),
        ...(update.logprobs === undefined ? {} : { logprobs: update.logprobs }),
      };
      this.send(sessionEvent('updated', this.shape, this.eventId(), this.sessionId, this.settings));
    };
    return { type: 'configure', options, done };
  }

  /** Base64 audio in the session's format as 16 kHz commands of at most MAX_FRAME_MS each. */
  private audioCommands(base64: string): Command[] {
    const pcm = this.input.push(Buffer.from(base64, 'base64'));
    return split(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  }

  /** The item's audio is committed: it follows the previously committed item, and joins the conversation. */
  private commit(item: Item): void {
    if (item.committed) return;
    item.committed = true;
    this.send(committedEvent(this.eventId(), item.id, this.previousItemId));
    for (const event of itemEvents(this.shape, () => this.eventId(), item.id, this.previousItemId)) this.send(event);
    this.previousItemId = item.id;
  }

  /**
   * Completes the turn's item: its transcript is its deltas joined. A turn that held no words is an item only when
   * committed by the client. `endMs`: where its audio ended, for the usage OpenAI reports (null: not known).
   */
  private complete(turnId: number, endMs: number | null): void {
    const item = this.item(turnId);
    this.commit(item);
    const transcript = item.deltas.join('');
    if (transcript === '' && this.failure !== null) this.send(failedEvent(this.eventId(), item.id, this.failure));
    else {
      const seconds = endMs === null || item.startMs === null ? 0 : Math.max(0, endMs - item.startMs) / 1000;
      const logprobs = this.settings.logprobs ? item.logprobs : null;
      this.send(completedEvent(this.eventId(), item.id, transcript, seconds, logprobs));
    }
    this.failure = null;
    this.completedThrough = turnId;
    // Turns before this one that never got a final held no words.
    for (const earlier of this.items.keys()) if (earlier <= turnId) this.items.delete(earlier);
  }

  /** A commit of audio in which no speech was heard: an item with an empty transcript, as OpenAI makes one. */
  private silentItem(): void {
    const id = `item_${this.idPrefix}s${this.silentItems++}`;
    const item: Item = { id, deltas: [], logprobs: [], committed: false, startMs: null };
    this.commit(item);
    this.committedTo = this.samplesReceived;
    this.send(completedEvent(this.eventId(), item.id, '', 0, this.settings.logprobs ? [] : null));
  }

  private item(turnId: number): Item {
    let item = this.items.get(turnId);
    if (!item) {
      item = { id: `item_${this.idPrefix}${turnId}`, deltas: [], logprobs: [], committed: false, startMs: null };
      this.items.set(turnId, item);
    }
    return item;
  }

  private eventId(): string {
    return `event_${this.idPrefix}${this.nextEventId++}`;
  }

  /** Throws a refusal the binding reports through error(), which then knows its OpenAI code and param. */
  private refuse(openAiCode: string, param: string | null, message: string): never {
    const refusal = new RealtimeInputError('bad_option', openAiCode, param, message);
    this.refusal = refusal;
    throw refusal;
  }
}
