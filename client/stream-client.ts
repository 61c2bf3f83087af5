import { Emitter } from './emitter.js';
import { Resampler, TARGET_RATE } from '../engine/audio/resampler.js';

/** A transcript as the server sends it on /stream. */
export interface Transcript {
  text: string;
  is_final: boolean;
  language: string;
  type: 'transcript';
  segment_id: number;
  seq: number;
  start_ms: number;
  end_ms: number;
}

export interface ServerError {
  type: 'error';
  code: string;
  message: string;
}

export interface ClientEvents extends Record<string, unknown> {
  partial: Transcript;
  final: Transcript;
  error: ServerError;
  session: { sessionId: string; resumed: boolean };
  reconnecting: { attempt: number; delayMs: number };
  closed: { code: number; reason: string };
}

/** The W3C WebSocket surface both browsers and the `ws` package provide. */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  send(data: string | ArrayBufferView | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type WebSocketFactory = (url: string, protocols?: string[]) => WebSocketLike;

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

async function defaultFactory(): Promise<WebSocketFactory> {
  const global = (globalThis as { WebSocket?: new (url: string, protocols?: string[]) => WebSocketLike }).WebSocket;
  if (global) return (url, protocols) => new global(url, protocols);
  const { WebSocket } = await import('ws');
  return (url, protocols) => new WebSocket(url, protocols) as unknown as WebSocketLike;
}

/**
 * Streams audio to /stream and surfaces typed transcript events. It implements the client half of resume: audio the
 * server has not acknowledged is kept, a dropped connection is reopened with backoff and resumed with the last seq
 * seen, the audio after the server's `audio_ms` is sent again, and no transcript is delivered twice.
 */
export class StreamClient extends Emitter<ClientEvents> {
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
  /** Between reopening a dropped connection and the server's `resumed`: audio waits in `unacked`. */
  private resuming = false;
  private ending = false;
  private finished = false;
  private attempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private ready: Promise<void> | undefined;
  private done: Promise<{ code: number; reason: string }>;
  private resolveDone: (value: { code: number; reason: string }) => void = () => undefined;

  constructor(
    readonly url: string,
    private readonly options: StreamClientOptions = {},
  ) {
    super();
    this.resampler = new Resampler(options.sampleRate ?? TARGET_RATE, options.channels ?? 1);
    this.frameSamples = (options.frameMs ?? 100) * SAMPLES_PER_MS;
    this.factory = options.webSocket;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Opens the connection; resolves once the server has announced the session. */
  connect(): Promise<void> {
    this.ready ??= this.open(false);
    return this.ready;
  }

  /** Queues audio (at the rate and channels given in the options) and sends it when connected. */
  send(pcm: Int16Array | Float32Array): void {
    if (this.ending) throw new Error('send() after end()');
    const converted = this.resampler.process(pcm);
    if (converted.length === 0) return;
    this.unacked.push(converted);
    this.produced += converted.length;
    if (this.attached()) this.transmit(converted);
  }

  /** Asks the server to finalize everything sent; resolves when it has closed the session (code 1000). */
  end(): Promise<{ code: number; reason: string }> {
    if (!this.ending) {
      this.ending = true;
      if (this.attached()) this.ws?.send(JSON.stringify({ type: 'end' }));
    }
    return this.done;
  }

  /** Closes without finalizing. */
  close(): void {
    clearTimeout(this.reconnectTimer);
    this.finish(1000, 'closed by client');
    this.ws?.close(1000);
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
      let announced = false;
      ws.onmessage = (event) => {
        if (typeof event.data !== 'string') return;
        const message = JSON.parse(event.data) as Record<string, unknown>;
        if (this.handle(message) && !announced) {
          announced = true;
          this.attempts = 0;
          resolve();
        }
      };
      ws.onclose = (event) => {
        if (this.ws !== ws) return;
        if (!announced && !resume) reject(new Error(`connection closed before the session started (${event.code} ${event.reason})`));
        this.onDrop(event.code, event.reason);
      };
      ws.onerror = () => undefined;
    });
  }

  /** Returns true when the message (re)established the session. */
  private handle(message: Record<string, unknown>): boolean {
    switch (message['type']) {
      case 'session':
        this.sessionId = String(message['session_id']);
        this.resumeToken = String(message['resume_token']);
        if (this.resuming) return false;
        if (this.options.language) this.ws?.send(JSON.stringify({ language: this.options.language }));
        this.flushUnacked(0);
        this.emit('session', { sessionId: this.sessionId, resumed: false });
        return true;
      case 'resumed':
        this.resuming = false;
        this.flushUnacked(Number(message['audio_ms']) * SAMPLES_PER_MS);
        this.emit('session', { sessionId: String(message['session_id']), resumed: true });
        return true;
      case 'ack':
        this.dropAcked(Number(message['audio_ms']) * SAMPLES_PER_MS);
        return false;
      case 'transcript': {
        const transcript = message as unknown as Transcript;
        if (transcript.seq <= this.lastSeq) return false;
        this.lastSeq = transcript.seq;
        this.emit(transcript.is_final ? 'final' : 'partial', transcript);
        return false;
      }
      case 'error':
        if (message['code'] === 'resume_failed') {
          // The server carries on with a fresh session; audio the old one had not acknowledged is lost with it.
          this.resuming = false;
          this.lastSeq = -1;
        }
        this.emit('error', message as unknown as ServerError);
        return false;
      default:
        return false;
    }
  }

  /** Sends every kept sample from `fromSample` on, then `end` again if it was asked for. */
  private flushUnacked(fromSample: number): void {
    this.dropAcked(fromSample);
    let at = this.unackedFrom;
    for (const chunk of this.unacked) {
      const skip = Math.max(0, fromSample - at);
      if (skip < chunk.length) this.transmit(chunk.subarray(skip));
      at += chunk.length;
    }
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

  private transmit(pcm: Int16Array): void {
    for (let i = 0; i < pcm.length; i += this.frameSamples) {
      const frame = pcm.subarray(i, i + this.frameSamples);
      this.ws?.send(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
    }
  }

  private onDrop(code: number, reason: string): void {
    if (this.finished) return;
    if (code === 1000 || code === 1001 || code === 1008 || (code >= 4000 && code < 5000) || this.sessionId === undefined) {
      this.finish(code, reason);
      return;
    }
    const max = this.options.maxReconnects ?? 8;
    if (this.attempts >= max) {
      this.finish(code, `gave up after ${max} reconnect attempts: ${reason}`);
      return;
    }
    const delayMs = Math.min(5000, (this.options.reconnectDelayMs ?? 250) * 2 ** this.attempts++);
    this.emit('reconnecting', { attempt: this.attempts, delayMs });
    this.reconnectTimer = setTimeout(() => void this.open(true), delayMs);
  }

  private finish(code: number, reason: string): void {
    if (this.finished) return;
    this.finished = true;
    this.emit('closed', { code, reason });
    this.resolveDone({ code, reason });
  }

  /** Samples (16 kHz) given to send() so far. */
  get samplesSent(): number {
    return this.produced;
  }
}
