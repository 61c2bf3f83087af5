import {
  msToSamples,
  type PartialWork,
  type SessionCheckpoint,
  type SessionError,
  type SpeechEvent,
  type StreamSession,
  type TranscriptEvent,
} from '../../engine/pipeline/index.js';
import type { Logger } from '../log.js';
import type { SessionStore } from './session-store.js';
import type { SharedSessionStore } from './shared-session-store.js';

/** Audio a checkpoint must have moved on by before it is written again between transcripts. */
const CHECKPOINT_STEP_SAMPLES = msToSamples(250);

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
  /**
   * A store other instances read: every transcript reaches the client only once it is written there with the
   * session's checkpoint, and acks cover only checkpointed audio. `lost` runs when another instance took the session.
   */
  shared?: { store: SharedSessionStore; lost: () => void; persisted?: (ms: number) => void };
  /** Audio a restored session starts at, already checkpointed. */
  durableSamples?: number;
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
  /** With a shared store: the audio whose transcripts are all stored there, as of the newest stored checkpoint. */
  private durable: number;
  private checkpointing = false;
  /** Where the session's audio started on this instance: a restored one received what precedes it elsewhere. */
  private readonly firstSample: number;

  constructor(options: HostedSessionOptions) {
    this.options = options;
    this.id = options.id;
    this.principal = options.principal;
    this.quotaKey = options.quotaKey;
    this.createdAt = options.createdAt;
    this.session = options.session;
    this.store = options.store;
    this.durable = options.durableSamples ?? 0;
    this.firstSample = this.durable;
    this.session.on('transcript', (event) => {
      this.measure(event);
      // Taken as the transcript leaves the pipeline, so it is the state right after it.
      const checkpoint = options.shared ? this.session.checkpoint() : null;
      this.enqueue(async () => {
        await this.store.append(this.id, event);
        if (checkpoint) await this.persist(checkpoint);
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

  /** Audio this instance received for the session (metrics). */
  get samplesReceivedHere(): number {
    return this.session.samplesReceived - this.firstSample;
  }

  /**
   * Audio an ack may cover: all that was received, or with a shared store only what a session restored from the
   * store would not need again (see SessionCheckpoint).
   */
  get ackableSamples(): number {
    return this.options.shared ? Math.min(this.durable, this.session.samplesReceived) : this.session.samplesReceived;
  }

  /**
   * Writes the session's checkpoint to the shared store now (it came back, perhaps empty); resolves once written or
   * not.
   */
  checkpointNow(): Promise<void> {
    const checkpoint = this.session.checkpoint();
    this.enqueue(() => this.persist(checkpoint));
    return this.drained();
  }

  /** Feeds s16le PCM to the session (see StreamSession.pushAudio). */
  pushAudio(pcm: Uint8Array): void {
    this.session.pushAudio(pcm);
    if (this.options.shared && !this.checkpointing) {
      // Between transcripts too, so acks go on through silence.
      const checkpoint = this.session.checkpoint();
      if (checkpoint.audioSample - this.durable < CHECKPOINT_STEP_SAMPLES) return;
      this.checkpointing = true;
      this.enqueue(async () => {
        try {
          await this.persist(checkpoint);
        } finally {
          this.checkpointing = false;
        }
      });
    }
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

  /**
   * Stops the session here so another instance can carry it on: its checkpoint as of now, returned once every
   * transcript before it is logged. `tellSink`: the attached socket is closed as replaced.
   */
  async handOff(tellSink: boolean): Promise<SessionCheckpoint> {
    const checkpoint = this.session.checkpoint();
    const sink = this.sink;
    this.dispose();
    if (tellSink) sink?.replaced();
    await this.drained();
    return checkpoint;
  }

  /** Stops the session and its timer; its log is the registry's to delete. */
  dispose(): void {
    this.switchTo(null, -1);
    this.session.close();
  }

  private measure(event: TranscriptEvent): void {
    if (!this.options.latency) return;
    const arrived = this.session.arrivalOf(msToSamples(event.endMs));
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

  private async persist(checkpoint: SessionCheckpoint): Promise<void> {
    const shared = this.options.shared;
    if (!shared) return;
    const started = performance.now();
    const outcome = await shared.store.persist(this.id, checkpoint);
    if (outcome === 'stored') {
      this.durable = Math.max(this.durable, checkpoint.audioSample);
      shared.persisted?.(performance.now() - started);
    } else if (outcome === 'lost') {
      shared.lost();
    }
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain
      .then(step)
      .catch((error: unknown) => this.options.log.error('session store step failed', { session: this.id, error }));
  }
}
