import { msToSamples, type PartialWork, type SessionError, type SpeechEvent, type StreamSession, type TranscriptEvent } from '../../engine/pipeline/index.js';
import type { Logger } from '../log.js';
import { ArrivalClock } from './arrival-clock.js';
import type { SessionStore } from './session-store.js';

/** The one socket binding that currently delivers a session's messages to its client. */
export interface SessionSink {
  transcript(event: TranscriptEvent): void;
  failure(error: SessionError): void;
  /** Speech began or stopped (advice about the moment, not replayed after a resume). */
  speech(event: SpeechEvent): void;
  /** Another socket has taken the session over; this one must go. */
  replaced(): void;
  /** The session has ended and everything was delivered: close the socket with `code`. */
  ended(code: number, reason: string): void;
}

export interface HostedSessionOptions {
  id: string;
  principal: string;
  /** Whose quota of detached sessions this one counts against: the principal, or the client's address without auth. */
  quotaKey: string;
  createdAt: number;
  session: StreamSession;
  store: SessionStore;
  resumeTtlMs: number;
  log: Logger;
  /** Called when the resume window of a detached session runs out. */
  expire: () => void;
  /** Called when the session loses its socket and starts waiting to be resumed. */
  detached: () => void;
  /** Told, for each transcript, how long after the audio it covers arrived it was emitted. */
  latency?: (isFinal: boolean, ms: number) => void;
  /** Told what each partial cost (metrics). */
  partialWork?: (work: PartialWork) => void;
}

/**
 * A StreamSession that outlives its sockets. Every transcript is appended to the store's log and the attached sink
 * is fed by one in-order pump from that log (everything above the last seq it was given), so replayed and live
 * transcripts cannot interleave wrongly however slow the store is. Appends, pumps and prunes run one after another.
 */
export class HostedSession {
  readonly id: string;
  readonly principal: string;
  readonly quotaKey: string;
  readonly createdAt: number;
  /** When the session lost its socket; null while one is attached or before the first. */
  detachedAt: number | null = null;
  readonly session: StreamSession;
  private readonly store: SessionStore;
  private readonly options: HostedSessionOptions;
  private sink: SessionSink | null = null;
  /** Highest seq handed to the current sink. */
  private lastSent = -1;
  /** Bumped whenever the sink changes, so a pump begun for the previous one stops. */
  private epoch = 0;
  private chain: Promise<void> = Promise.resolve();
  private ttl: NodeJS.Timeout | null = null;
  private readonly arrivals = new ArrivalClock();

  constructor(options: HostedSessionOptions) {
    this.options = options;
    this.id = options.id;
    this.principal = options.principal;
    this.quotaKey = options.quotaKey;
    this.createdAt = options.createdAt;
    this.session = options.session;
    this.store = options.store;
    this.session.on('transcript', (event) => {
      this.measure(event);
      this.enqueue(async () => {
        await this.store.append(this.id, event);
        await this.pump();
      });
    });
    // Failures and speech events are advice about the moment, not part of the transcript: not replayed.
    this.session.on('failure', (error) => this.sink?.failure(error));
    this.session.on('speech', (event) => this.sink?.speech(event));
    const partialWork = options.partialWork;
    if (partialWork) this.session.on('partialWork', partialWork);
  }

  get attached(): boolean {
    return this.sink !== null;
  }

  /** Highest seq written to the current sink; -1 before any. */
  get sentSeq(): number {
    return this.lastSent;
  }

  isAttachedTo(sink: SessionSink): boolean {
    return this.sink === sink;
  }

  /** Feeds s16le PCM to the session (see StreamSession.pushAudio) and notes when it arrived. */
  pushAudio(pcm: Uint8Array): void {
    this.session.pushAudio(pcm);
    this.arrivals.mark(this.session.samplesReceived, performance.now());
  }

  /** Makes `sink` the session's only receiver; it gets every logged transcript after `lastSeq`, then live ones. */
  attach(sink: SessionSink, lastSeq: number): void {
    const previous = this.sink;
    this.switchTo(sink, lastSeq);
    this.detachedAt = null;
    if (previous && previous !== sink) previous.replaced();
    this.enqueue(() => this.store.update(this.id, { detachedAt: null }));
    this.enqueue(() => this.pump());
  }

  /** The sink's socket is gone: transcripts go on into the log for the resume window. */
  detach(sink: SessionSink): void {
    if (this.sink !== sink) return;
    this.switchTo(null, -1);
    const now = Date.now();
    this.detachedAt = now;
    this.enqueue(() => this.store.update(this.id, { detachedAt: now }));
    this.ttl = setTimeout(this.options.expire, this.options.resumeTtlMs);
    this.options.detached();
  }

  /** The client provably has every transcript up to `seq` (see Heartbeat): the log need not keep them. */
  delivered(seq: number): void {
    if (seq >= 0) this.enqueue(() => this.store.prune(this.id, seq));
  }

  /**
   * Resolves once every transcript emitted so far has been logged and offered to the sink, including a sink that
   * attached (a resume) while this waited.
   */
  async drained(): Promise<void> {
    let settled: Promise<void>;
    do {
      settled = this.chain;
      await settled;
    } while (settled !== this.chain);
  }

  /** Closes the attached socket, if any, once the session is over and drained. */
  ended(code: number, reason: string): void {
    this.sink?.ended(code, reason);
  }

  /** Stops the session and its timer; its log is the registry's to delete. */
  dispose(): void {
    this.switchTo(null, -1);
    this.session.close();
  }

  private measure(event: TranscriptEvent): void {
    if (!this.options.latency) return;
    const arrived = this.arrivals.arrivalOf(msToSamples(event.endMs));
    if (arrived !== undefined) this.options.latency(event.isFinal, performance.now() - arrived);
  }

  private switchTo(sink: SessionSink | null, lastSeq: number): void {
    if (this.ttl) clearTimeout(this.ttl);
    this.ttl = null;
    this.sink = sink;
    this.lastSent = lastSeq;
    this.epoch++;
  }

  private async pump(): Promise<void> {
    const sink = this.sink;
    if (!sink) return;
    const epoch = this.epoch;
    const events = await this.store.replay(this.id, this.lastSent);
    for (const event of events) {
      if (this.epoch !== epoch) return;
      if (event.seq <= this.lastSent) continue;
      this.lastSent = event.seq;
      sink.transcript(event);
    }
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((error: unknown) => this.options.log.error('session store step failed', { session: this.id, error }));
  }
}
