import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { WAIT_MS, described, shown, within, type WaitOptions } from './wait.js';

export interface Received {
  /** performance.now() at arrival. */
  at: number;
  data: Record<string, unknown>;
}

export interface StreamOptions {
  /** 1 = real time, 4 = four times faster. */
  speed: number;
  frameMs: number;
}

/** A /stream client that keeps every message with its arrival time and every frame with its send time. */
export class StreamClient {
  readonly messages: Received[] = [];
  /** Send time of each sample offset's frame: frameStarts[i] is the first sample of frame i. */
  private readonly frameStarts: number[] = [];
  private readonly frameTimes: number[] = [];
  private sentSamples = 0;
  private readonly waiters = new Set<() => void>();
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) throw new Error('the server sent a binary message');
      this.messages.push({ at: performance.now(), data: JSON.parse(data.toString()) as Record<string, unknown> });
      for (const wake of this.waiters) wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static connect(url: string, options: WebSocket.ClientOptions = {}, protocols: string[] = []): Promise<StreamClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, options);
      ws.once('open', () => resolve(new StreamClient(ws)));
      ws.once('error', reject);
    });
  }

  sendJson(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  sendText(text: string): void {
    this.ws.send(text);
  }

  sendBytes(bytes: Uint8Array): void {
    this.ws.send(bytes, { binary: true });
  }

  /** Loses the connection the way a network failure does: the TCP socket goes, with no close frame. */
  drop(): void {
    // terminate() destroys the socket without a close frame.
    this.ws.terminate();
  }

  /** The `session` message every connection starts with. */
  session(options: WaitOptions = {}): Promise<{ session_id: string; resume_token: string; resume_ttl_ms: number }> {
    return this.waitFor((m) => m['type'] === 'session', { what: 'the session message', ...options }) as Promise<never>;
  }

  /** Sends PCM in frames, paced against the clock so lateness in one frame does not push back the rest. */
  async stream(pcm: Int16Array, options: StreamOptions): Promise<void> {
    const frame = Math.round((16000 * options.frameMs) / 1000);
    const started = performance.now();
    for (let offset = 0, i = 0; offset < pcm.length; offset += frame, i++) {
      const due = started + (i * options.frameMs) / options.speed;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const chunk = pcm.subarray(offset, Math.min(offset + frame, pcm.length));
      this.frameStarts.push(this.sentSamples);
      this.frameTimes.push(performance.now());
      this.sentSamples += chunk.length;
      this.ws.send(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), { binary: true });
    }
  }

  /** When the frame holding audio time `ms` (counted over everything streamed) was sent. */
  sentAt(ms: number): number {
    const sample = Math.min(Math.max(0, Math.round(ms * 16) - 1), this.sentSamples - 1);
    let lo = 0;
    let hi = this.frameStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.frameStarts[mid] as number) <= sample) lo = mid;
      else hi = mid - 1;
    }
    return this.frameTimes[lo] as number;
  }

  transcripts(): Record<string, unknown>[] {
    return this.messages.map((m) => m.data).filter((m) => m['type'] === 'transcript');
  }

  /** Transcripts and errors: everything but the session bookkeeping (session, ack, resumed). */
  content(): Record<string, unknown>[] {
    return this.messages.map((m) => m.data).filter((m) => m['type'] === 'transcript' || m['type'] === 'error');
  }

  errors(): Record<string, unknown>[] {
    return this.messages.map((m) => m.data).filter((m) => m['type'] === 'error');
  }

  /** Resolves with the first message (old or new) that matches; fails when the socket closes or time runs out. */
  waitFor(
    match: (message: Record<string, unknown>) => boolean,
    options: WaitOptions = {},
  ): Promise<Record<string, unknown>> {
    const what = options.what ?? described(match);
    const waiting = async (): Promise<Record<string, unknown>> => {
      for (;;) {
        const found = this.messages.find((m) => match(m.data));
        if (found) return found.data;
        if (this.ws.readyState === WebSocket.CLOSED)
          throw new Error(`socket closed before ${what}; saw last: ${this.lastSeen()}`);
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            this.waiters.delete(wake);
            // One listener per wait, not one more for every message waited through.
            this.ws.off('close', wake);
            resolve();
          };
          this.waiters.add(wake);
          this.ws.once('close', wake);
        });
      }
    };
    return within(waiting(), what, options.timeoutMs ?? WAIT_MS, () => this.lastSeen());
  }

  /** Sends {"type":"end"} and waits for the server to close the socket. */
  async end(options: WaitOptions = {}): Promise<{ code: number; reason: string }> {
    this.sendJson({ type: 'end' });
    return within(this.closed, options.what ?? 'the close after {"type":"end"}', options.timeoutMs ?? WAIT_MS, () =>
      this.lastSeen(),
    );
  }

  /** The last message received, for a failed wait's message. */
  private lastSeen(): string {
    const last = this.messages.at(-1);
    return last === undefined
      ? `no message (${this.messages.length} in all)`
      : `${shown(last.data)} (${this.messages.length} messages in all)`;
  }
}
