/** The official socket.io-client on the /speech namespace, recording every event the server emits, in order. */
import { setTimeout as sleep } from 'node:timers/promises';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { WAIT_MS, described, shown, within, type WaitOptions } from '../../bench/lib/wait.js';

export interface Received {
  name: string;
  payload: Record<string, unknown>;
}

export interface StreamOptions {
  chunkMs: number;
  /** Multiples of real time. */
  speed: number;
  /** Sent as `{audio, sampleRate}` unless 16000, which goes as bare binary. */
  sampleRate?: number;
}

/** A connect_error: the middleware's message, and its `data` (`{code}`) when the refusal came from the namespace. */
export class ConnectRefused extends Error {
  constructor(
    message: string,
    readonly data: unknown,
  ) {
    super(message);
  }
}

export class SpeechIoClient {
  readonly events: Received[] = [];
  private readonly waiters = new Set<() => void>();
  /** Why the socket disconnected, once it has. */
  disconnected: string | null = null;

  private constructor(readonly socket: Socket) {
    socket.onAny((name: string, payload: Record<string, unknown>) => {
      this.events.push({ name, payload });
      this.wake();
    });
    socket.on('disconnect', (reason) => {
      this.disconnected = reason;
      this.wake();
    });
  }

  /** Connects to the namespace (/speech unless told); rejects with ConnectRefused on connect_error. */
  static connect(
    httpUrl: string,
    options: Partial<ManagerOptions & SocketOptions> = {},
    namespace = '/speech',
  ): Promise<SpeechIoClient> {
    const socket = io(`${httpUrl}${namespace}`, { reconnection: false, forceNew: true, ...options });
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(new SpeechIoClient(socket)));
      socket.once('connect_error', (error: Error & { data?: unknown }) => {
        socket.close();
        reject(new ConnectRefused(error.message, error.data));
      });
    });
  }

  /** The first event (from the start) that matches, waiting for it if need be (up to the timeout). */
  waitFor(match: (event: Received) => boolean, options: WaitOptions = {}): Promise<Received> {
    const what = options.what ?? described(match);
    const waiting = async (): Promise<Received> => {
      for (;;) {
        const found = this.events.find(match);
        if (found) return found;
        if (this.disconnected !== null)
          throw new Error(`disconnected (${this.disconnected}) before ${what}; saw last: ${this.lastSeen()}`);
        await new Promise<void>((resolve) => this.waiters.add(resolve));
      }
    };
    return within(waiting(), what, options.timeoutMs ?? WAIT_MS, () => this.lastSeen());
  }

  /** Resolves with the reason once the socket has disconnected (up to the timeout). */
  closed(options: WaitOptions = {}): Promise<string> {
    const waiting = async (): Promise<string> => {
      while (this.disconnected === null) await new Promise<void>((resolve) => this.waiters.add(resolve));
      return this.disconnected;
    };
    return within(waiting(), options.what ?? 'the disconnect', options.timeoutMs ?? WAIT_MS, () => this.lastSeen());
  }

  private lastSeen(): string {
    const last = this.events.at(-1);
    return last === undefined
      ? 'no event'
      : `${last.name} ${shown(last.payload)} (${this.events.length} events in all)`;
  }

  /** Emits `name` and resolves with the server's acknowledgement, failing after the default wait. */
  ack(name: string, ...args: unknown[]): Promise<Record<string, unknown>> {
    const acked = this.socket.timeout(WAIT_MS).emitWithAck(name, ...args) as Promise<Record<string, unknown>>;
    return acked.catch((error: unknown) => {
      throw new Error(
        `no acknowledgement of ${name} (${error instanceof Error ? error.message : String(error)}); saw last: ` +
          `${this.lastSeen()}`,
      );
    });
  }

  /**
   * Emits 16 kHz PCM as audio-chunk events, paced against the clock; converted to `sampleRate` by repeating samples.
   */
  async stream(pcm: Int16Array, options: StreamOptions): Promise<void> {
    const rate = options.sampleRate ?? 16000;
    const frame = Math.round((16000 * options.chunkMs) / 1000);
    const started = performance.now();
    for (let offset = 0, i = 0; offset < pcm.length; offset += frame, i++) {
      const wait = started + (i * options.chunkMs) / options.speed - performance.now();
      if (wait > 0) await sleep(wait);
      const chunk = pcm.slice(offset, offset + frame);
      this.socket.emit(
        'audio-chunk',
        rate === 16000 ? Buffer.from(chunk.buffer) : { audio: upsample(chunk, rate / 16000), sampleRate: rate },
      );
    }
  }

  close(): void {
    this.socket.disconnect();
  }

  private wake(): void {
    for (const waiter of this.waiters) waiter();
    this.waiters.clear();
  }
}

/** Each sample `factor` times: crude, but speech for the VAD and the model all the same. */
function upsample(pcm: Int16Array, factor: number): Buffer {
  const out = new Int16Array(pcm.length * factor);
  for (let i = 0; i < out.length; i++) out[i] = pcm[Math.floor(i / factor)] as number;
  return Buffer.from(out.buffer);
}
