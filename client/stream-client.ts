// The streaming client: typed transcript events over /stream, with the client half of resume and typed connection
// errors.
import { Emitter } from './emitter.js';
import { ConnectionError, HandshakeError } from './errors.js';
import { connectionFailure, defaultFactory, displayUrl, type WebSocketFactory, type WebSocketLike } from './socket.js';
import { Resampler, TARGET_RATE } from '../engine/audio/resampler.js';
import type { ErrorMessage, TranscriptMessage } from '../protocol/stream.js';

/** A transcript as the server sends it on /stream (the wire type of protocol/stream.ts). */
export type Transcript = TranscriptMessage;

/** An error message of /stream; its code is a string, so a client keeps working when the server adds codes. */
export type ServerError = Omit<ErrorMessage, 'code'> & { code: string };

/** Why a connection attempt failed: the server refused the handshake, or no connection came about. */
export type ConnectFailure = HandshakeError | ConnectionError;

/** The end of the client: the last socket's close code and reason, and the failure that ended it, if one did. */
export interface ClosedEvent {
  code: number;
  reason: string;
  error?: ConnectFailure;
}

export interface ClientEvents extends Record<string, unknown> {
  partial: Transcript;
  final: Transcript;
  error: ServerError;
  session: { sessionId: string; resumed: boolean };
  /** A dropped connection is reopened after `delayMs`; `error` says why the previous attempt failed, if it did. */
  reconnecting: { attempt: number; delayMs: number; error?: ConnectFailure };
  closed: ClosedEvent;
}

export interface StreamClientOptions {
  /** ISO 639-1 code or 'auto'; default: the server's DEFAULT_LANGUAGE. */
  language?: string;
  /** API key or JWT, sent as the subprotocols ['bearer', token] (works in browsers). */
  token?: string;
  /** Rate and channel count of the audio passed to send(); it is converted to 16 kHz mono. Default 16000, 1. */
  sampleRate?: number;
  channels?: number;
  /** Reconnect attempts after a drop before giving up; default 8. */
  maxReconnects?: number;
  /** First reconnect delay, doubled per attempt up to 5 s; default 250 ms. */
  reconnectDelayMs?: number;
  /** Audio per WebSocket frame; default 100 ms. */
  frameMs?: number;
  /** How to open sockets; default the global WebSocket (browsers), else the `ws` package (Node). */
  webSocket?: WebSocketFactory;
}

const OPEN = 1;
const SAMPLES_PER_MS = TARGET_RATE / 1000;
/** The server restarts and handed the session off: it is resumed at once, elsewhere. */
const SERVICE_RESTART = 1012;
/** Close codes after which the session is over for good (see docs/PROTOCOL.md): normal end, shutdown, policy, 4xxx. */
const isFinalClose = (code: number): boolean =>
  code === 1000 || code === 1001 || code === 1008 || (code >= 4000 && code < 5000);

const isTranscript = (message: Record<string, unknown>): message is Record<string, unknown> & Transcript =>
  typeof message['text'] === 'string' && typeof message['is_final'] === 'boolean' && typeof message['seq'] === 'number';

/**
 * Streams audio to /stream and surfaces typed transcript events. It implements the client half of resume: audio the
 * server has not acknowledged is kept, a dropped connection is reopened with backoff and resumed with the last seq
 * seen, the audio after the server's `audio_ms` is sent again, and no transcript is delivered twice. Given several
 * URLs (instances sharing a session store), each reconnect goes to the next one.
 */
export class StreamClient extends Emitter<ClientEvents> {
  readonly urls: readonly string[];
  private urlIndex = 0;
  private readonly resampler: Resampler;
  private readonly frameSamples: number;
  private factory: WebSocketFactory | undefined;
  private ws: WebSocketLike | undefined;
  private sessionId: string | undefined;
  private resumeToken: string | undefined;
  private lastSeq = -1;
  /** 16 kHz samples handed to send() so far, and the unacknowledged tail of them starting at `unackedFrom`. */
  private produced = 0;
  private unackedFrom = 0;
  private unacked: Int16Array[] = [];
  /** Samples sent on the current connection so far (a new connection starts from the server's audio_ms). */
  private transmitted = 0;
  /** Between reopening a dropped connection and the server's `resumed`: audio waits in `unacked`. */
  private resuming = false;
  private ending = false;
  private finished = false;
  private attempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private ready: Promise<void> | undefined;
  private done: Promise<ClosedEvent>;
  private resolveDone: (value: ClosedEvent) => void = () => undefined;

  /** `url`: one ws(s)://host:port/stream (a load balancer's, say), or several, tried in turn after a failure. */
  constructor(
    url: string | readonly string[],
    private readonly options: StreamClientOptions = {},
  ) {
    super();
    this.urls = typeof url === 'string' ? [url] : [...url];
    if (this.urls.length === 0) throw new RangeError('StreamClient needs at least one URL');
    this.resampler = new Resampler(options.sampleRate ?? TARGET_RATE, options.channels ?? 1);
    this.frameSamples = (options.frameMs ?? 100) * SAMPLES_PER_MS;
    this.factory = options.webSocket;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /**
   * Opens the connection; resolves once the server has announced the session. Rejects with a HandshakeError when the
   * server refuses the upgrade (Node only: status, body, Retry-After), else with a ConnectionError. Given several
   * URLs, each is tried in turn until one announces a session; the last failure is the one reported, and a refusal
   * no retry can change (401, 403, ...) is reported at once.
   */
  connect(): Promise<void> {
    this.ready ??= this.openFirst();
    return this.ready;
  }

  private async openFirst(): Promise<void> {
    for (;;) {
      try {
        return await this.open(false);
      } catch (error) {
        if (!this.untried(error)) throw error;
        this.urlIndex++;
      }
    }
  }

  /** Whether a first connection that failed with `failure` goes on to the next URL. */
  private untried(failure: unknown): boolean {
    return (
      !this.finished &&
      this.urlIndex < this.urls.length - 1 &&
      !(failure instanceof HandshakeError && failure.permanent)
    );
  }

  /** Queues audio (at the rate and channels given in the options) and sends it when connected. */
  send(pcm: Int16Array | Float32Array): void {
    if (this.ending) throw new Error('send() after end()');
    const converted = this.resampler.process(pcm);
    if (converted.length === 0) return;
    this.unacked.push(converted);
    this.produced += converted.length;
    if (this.attached()) this.transmit(false);
  }

  /**
   * Asks the server to finalize everything sent; resolves when it has closed the session (code 1000), or with the
   * close that ended the client otherwise (its `error` says why, when a reconnect was refused or failed).
   */
  end(): Promise<ClosedEvent> {
    if (!this.ending) {
      this.ending = true;
      // The resampler holds back a few samples for its filter's look-ahead: they are the stream's last.
      const tail = this.resampler.flush();
      if (tail.length > 0) {
        this.unacked.push(tail);
        this.produced += tail.length;
      }
      if (this.attached()) {
        this.transmit(true);
        this.ws?.send(JSON.stringify({ type: 'end' }));
      }
    }
    return this.done;
  }

  /** Closes without finalizing. */
  close(): void {
    clearTimeout(this.reconnectTimer);
    this.finish({ code: 1000, reason: 'closed by client' });
    this.ws?.close(1000);
  }

  /** The URL the current (or next) connection uses. */
  get url(): string {
    return this.urls[this.urlIndex % this.urls.length] as string;
  }

  private attached(): boolean {
    return this.ws?.readyState === OPEN && this.sessionId !== undefined && !this.resuming;
  }

  private async open(resume: boolean): Promise<void> {
    this.factory ??= await defaultFactory();
    if (this.finished) return;
    const url = new URL(this.url);
    if (resume && this.sessionId && this.resumeToken) {
      url.searchParams.set('session_id', this.sessionId);
      url.searchParams.set('resume_token', this.resumeToken);
      url.searchParams.set('last_seq', String(this.lastSeq));
      this.resuming = true;
    }
    const ws = this.factory(url.toString(), this.options.token ? ['bearer', this.options.token] : undefined);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    return new Promise((resolve, reject) => {
      let opened = false;
      let announced = false;
      let failure: ConnectFailure | undefined;
      ws.onopen = () => {
        opened = true;
      };
      ws.onmessage = (event) => {
        if (typeof event.data !== 'string') return;
        const message = JSON.parse(event.data) as Record<string, unknown>;
        if (this.handle(message) && !announced) {
          announced = true;
          this.attempts = 0;
          resolve();
        }
      };
      ws.onerror = (event) => {
        if (!opened) failure = connectionFailure(event, displayUrl(this.url));
      };
      ws.onclose = (event) => {
        if (this.ws !== ws) return;
        if (!announced && !resume) {
          failure ??= new ConnectionError(
            `the connection closed before the session started (${`${event.code} ${event.reason}`.trim()})`,
          );
          reject(failure);
          if (this.untried(failure)) return;
        }
        this.onDrop(event.code, event.reason, failure);
      };
    });
  }

  /** Returns true when the message (re)established the session. */
  private handle(message: Record<string, unknown>): boolean {
    switch (message['type']) {
      case 'session': {
        const id = String(message['session_id']);
        // A new session numbers its transcripts from 0. Only its announcement resets the count: a resume refused
        // with `resume_failed` may end without one (1013 when no new session can start either), and the old session,
        // resumed later, must not send again what this client already has.
        if (id !== this.sessionId) this.lastSeq = -1;
        this.sessionId = id;
        this.resumeToken = String(message['resume_token']);
        if (this.resuming) return false;
        if (this.options.language) this.ws?.send(JSON.stringify({ language: this.options.language }));
        this.flushUnacked(0);
        this.emit('session', { sessionId: this.sessionId, resumed: false });
        return true;
      }
      case 'resumed':
        this.resuming = false;
        this.flushUnacked(Number(message['audio_ms']) * SAMPLES_PER_MS);
        this.emit('session', { sessionId: String(message['session_id']), resumed: true });
        return true;
      case 'ack':
        this.dropAcked(Number(message['audio_ms']) * SAMPLES_PER_MS);
        return false;
      case 'transcript': {
        if (!isTranscript(message) || message.seq <= this.lastSeq) return false;
        this.lastSeq = message.seq;
        this.emit(message.is_final ? 'final' : 'partial', message);
        return false;
      }
      case 'error':
        if (message['code'] === 'resume_failed') {
          // The server carries on with a fresh session, announced next; audio the old one had not acknowledged is
          // lost with it.
          this.resuming = false;
        }
        this.emit('error', { type: 'error', code: String(message['code']), message: String(message['message']) });
        return false;
      default:
        return false;
    }
  }

  /** Sends every kept sample from `fromSample` on, then `end` again if it was asked for. */
  private flushUnacked(fromSample: number): void {
    this.dropAcked(fromSample);
    this.transmitted = Math.max(fromSample, this.unackedFrom);
    this.transmit(this.ending);
    if (this.ending) this.ws?.send(JSON.stringify({ type: 'end' }));
  }

  private dropAcked(upToSample: number): void {
    while (this.unacked.length > 0) {
      const head = this.unacked[0] as Int16Array;
      if (this.unackedFrom + head.length > upToSample) break;
      this.unackedFrom += head.length;
      this.unacked.shift();
    }
  }

  /**
   * Sends the kept audio not yet sent on this connection in frames of `frameMs`, however small the pieces given to
   * send() (an AudioWorklet hands over 128 samples at a time): fewer, larger messages cost less to send and to read.
   * The last piece shorter than a frame waits for more audio, or goes out with `all` (at the end).
   */
  private transmit(all: boolean): void {
    while (this.produced - this.transmitted >= this.frameSamples || (all && this.produced > this.transmitted)) {
      const frame = this.kept(this.transmitted, Math.min(this.produced, this.transmitted + this.frameSamples));
      this.ws?.send(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
      this.transmitted += frame.length;
    }
  }

  /** Kept samples [from, to) in one buffer, across the pieces send() was given. */
  private kept(from: number, to: number): Int16Array {
    const out = new Int16Array(to - from);
    let at = this.unackedFrom;
    for (const chunk of this.unacked) {
      const start = Math.max(from, at);
      const end = Math.min(to, at + chunk.length);
      if (start < end) out.set(chunk.subarray(start - at, end - at), start - from);
      at += chunk.length;
      if (at >= to) break;
    }
    return out;
  }

  /**
   * A socket closed: the end of the client, or a reconnect with backoff. A refusal that retrying cannot change (401,
   * 403, ...) ends it; a 503's Retry-After lengthens the wait.
   */
  private onDrop(code: number, reason: string, failure: ConnectFailure | undefined): void {
    if (this.finished) return;
    if (
      isFinalClose(code) ||
      this.sessionId === undefined ||
      (failure instanceof HandshakeError && failure.permanent)
    ) {
      this.finish({ code, reason, error: failure });
      return;
    }
    const max = this.options.maxReconnects ?? 8;
    if (this.attempts >= max) {
      this.finish({
        code,
        reason: `gave up after ${max} reconnect attempts: ${failure?.message ?? reason}`,
        error: failure,
      });
      return;
    }
    this.urlIndex++;
    const backoffMs =
      code === SERVICE_RESTART && this.attempts === 0
        ? 0
        : Math.min(5000, (this.options.reconnectDelayMs ?? 250) * 2 ** this.attempts);
    this.attempts++;
    const retryAfterMs =
      failure instanceof HandshakeError && failure.retryAfterS !== undefined ? failure.retryAfterS * 1000 : 0;
    const delayMs = Math.max(backoffMs, retryAfterMs);
    this.emit('reconnecting', { attempt: this.attempts, delayMs, error: failure });
    this.reconnectTimer = setTimeout(() => void this.open(true), delayMs);
  }

  private finish(event: ClosedEvent): void {
    if (this.finished) return;
    this.finished = true;
    this.emit('closed', event);
    this.resolveDone(event);
  }

  /** Samples (16 kHz) given to send() so far. */
  get samplesSent(): number {
    return this.produced;
  }
}
