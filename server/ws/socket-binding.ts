/**
 * The one socket binding: binds a connection (any Transport) to at most one hosted session at a time and applies,
 * for every protocol alike, the limits on what a client may send (its inbound budget: audio against real time,
 * control messages, utterance-ending ones; error rates; frame, text and outbound buffer sizes), the heartbeat, the
 * backlog guard, the idle and lifetime clocks, and session bookkeeping (create, resume, detach, purge). What the
 * messages look like is the adapter's business (adapter.ts).
 *
 * Nothing a client sends can throw past this point: it gets an error in its protocol instead, and a client that
 * keeps causing errors is closed with 1008. Messages are handled strictly in order, including while a session is
 * being created or resumed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SessionError, msToSamples, type SpeechEvent, type TranscriptEvent } from '../../engine/pipeline/index.js';
import { ProtocolError, type ErrorCode } from '../../protocol/errors.js';
import { resendOverlap, type ResumeRequest } from '../../protocol/stream.js';
import type { Logger } from '../log.js';
import type { HostedSession, SessionSink } from '../sessions/hosted-session.js';
import { SessionLimits } from '../sessions/session-limits.js';
import type { SessionRegistry } from '../sessions/session-registry.js';
import type { Command, ProtocolAdapter, SessionOptions, SessionOutcome } from './adapter.js';
import { BacklogGuard } from './backlog-guard.js';
import { CloseCode } from './close-codes.js';
import { Heartbeat } from './heartbeat.js';
import { InboundBudget, type Charge, type InboundLimits } from './inbound-budget.js';
import { ReadGate } from './read-gate.js';
import { TokenBucket } from './token-bucket.js';
import { exceedsStructure } from './text-structure.js';
import type { Transport } from './transport.js';

export interface ConnectionLimits extends InboundLimits {
  /** Audio per message, in bytes of 16 kHz s16le PCM. */
  maxFrameBytes: number;
  /** Bytes of one text message, checked before it is parsed; more closes the connection with 1009. */
  maxTextBytes: number;
  maxErrorsPerS: number;
  maxBufferedBytes: number;
  pingIntervalMs: number;
  idleTimeoutMs: number;
  maxSessionMs: number;
  /** See BacklogGuard. */
  overloadPendingMs: number;
}

export interface BindingOptions {
  registry: SessionRegistry;
  principal: string;
  /** Whose detached-session quota this connection's sessions count against. */
  quotaKey: string;
  limits: ConnectionLimits;
  /** A resume the connection asked for in its upgrade request. */
  resume: ResumeRequest | null;
  log: Logger;
  /** A limit closed or refused something (metrics). */
  refused: (reason: string) => void;
  readsPaused: () => void;
  /** The connection is read more slowly: its audio ran ahead of MAX_AUDIO_RATE (metrics). */
  readsPaced: () => void;
}

const SAMPLES_PER_MS = msToSamples(1);
/**
 * Parsing costs in a text's structure, not only its bytes: a valid 1 MB object of 90,000 keys took 50-240 ms to parse
 * and 230-540 ms more to read as an event. Every message of every protocol has far fewer (a 1 KB prompt of commas
 * included); base64 audio has none.
 */
const MAX_TEXT_STRUCTURE = 2048;
/** How long a client closed for a limit has to answer the close before its socket is dropped. */
const CLOSING_GRACE_MS = 2000;

/** Tells a start's or stop's `done` why it was refused, then throws the same error for the protocol to report. */
function refuse(done: ((outcome: SessionOutcome) => void) | undefined, code: ErrorCode, message: string): never {
  done?.({ code, message });
  throw new ProtocolError(code, message);
}

export class SocketBinding<In> implements SessionSink {
  private host: HostedSession | null = null;
  private inbox: Promise<void> = Promise.resolve();
  /** Anything but a resume arrived: a resume message is no longer allowed. */
  private started = false;
  private finishing: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  /** After a resume: samples at the start of the client's resend that the session already has (see resendOverlap). */
  private skipSamples = 0;
  private readonly limits: SessionLimits;
  private readonly heartbeat: Heartbeat<{ host: HostedSession; seq: number } | null> | null;
  private readonly gate: ReadGate;
  private readonly backlog: BacklogGuard;
  private readonly budget: InboundBudget;
  private readonly errors: TokenBucket;
  private paceTimer: NodeJS.Timeout | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  /** The client was told once that audio after the end is dropped. */
  private toldEnded = false;
  /**
   * The session is being handed off (shutdown with a shared store): what the client sends meanwhile is dropped
   * without a word, since it resends its unacknowledged audio (and an `end`) to the instance that takes over.
   */
  private handingOver = false;
  private closed = false;
  private log: Logger;

  constructor(
    private readonly transport: Transport<In, unknown>,
    private readonly adapter: ProtocolAdapter<In>,
    private readonly options: BindingOptions,
  ) {
    this.log = options.log;
    const { limits } = options;
    this.budget = new InboundBudget(limits);
    this.errors = new TokenBucket(limits.maxErrorsPerS, limits.maxErrorsPerS);
    const idle = adapter.idle ?? { ms: limits.idleTimeoutMs, code: CloseCode.idle, reason: 'idle timeout: no audio' };
    this.limits = new SessionLimits(
      Math.min(idle.ms, limits.idleTimeoutMs),
      limits.maxSessionMs,
      () => void this.finish(idle.code, idle.reason),
      () => void this.finish(CloseCode.maxDuration, 'maximum session duration reached'),
    );
    const liveness = transport.liveness;
    this.heartbeat = liveness
      ? new Heartbeat(
          liveness,
          limits.pingIntervalMs,
          () => (this.host?.isAttachedTo(this) ? { host: this.host, seq: this.host.sentSeq } : null),
          // Only what went to this socket while it was the session's; a replaced socket's pong proves nothing now.
          (proof) => {
            if (proof?.host.isAttachedTo(this)) proof.host.delivered(proof.seq);
          },
          () => {
            this.log.info('no pong: dropping the connection');
            transport.terminate();
          },
        )
      : null;
    this.gate = new ReadGate(transport, (held) => this.heartbeat?.hold(held));
    this.backlog = new BacklogGuard(
      this.gate,
      limits.overloadPendingMs,
      () => this.log,
      (message) => this.adapter.error('overloaded', message),
      options.readsPaused,
    );
    transport.onMessage((message, text) => {
      if (!this.admit(text)) return;
      this.inbox = this.inbox.then(() => this.receive(message, text !== null));
    });
    transport.limitOutbound(limits.maxBufferedBytes, () => this.dropNonReader());
    transport.onClose((code) => void this.inbox.then(() => this.closedBy(code)));
    // Between sessions the idle clock runs too, so a connection that never starts one does not stay open for ever.
    this.limits.touch();
    if (adapter.startsAtConnect) this.inbox = this.inbox.then(() => this.open(options.resume));
  }

  /** Finalizes the session, sends its finals, and closes with `code`; the session is gone afterwards. */
  finish(code: number, reason: string): Promise<void> {
    if (this.finishing) return this.finishing;
    this.started = true;
    this.limits.stop();
    // A replaced connection's session belongs to the connection that replaced it.
    const host = this.host?.isAttachedTo(this) ? this.host : null;
    this.finishing = (async () => {
      if (host) {
        await this.finalize(host);
        this.adapter.stopped(host.id);
        // The client may have resumed the session on another socket while it ended: that one is closed too.
        host.ended(code, reason);
      }
      this.adapter.closing();
      this.transport.close(code, reason);
      if (host) await this.options.registry.purge(host);
    })();
    return this.finishing;
  }

  /**
   * Shutdown with a shared store: a resumable session is checkpointed and handed off instead of finalized, and the
   * socket closes with 1012 so the client resumes it on another instance at once. Others finish as with finish().
   */
  handOver(): Promise<void> {
    const host = this.host?.isAttachedTo(this) ? this.host : null;
    if (this.finishing || !host || !this.adapter.resumable)
      return this.finish(CloseCode.shuttingDown, 'server shutting down');
    this.started = true;
    this.handingOver = true;
    this.limits.stop();
    this.finishing = (async () => {
      await this.options.registry.release(host, false);
      this.transport.close(CloseCode.serviceRestart, 'server restarting: resume the session');
    })();
    return this.finishing;
  }

  /** Drops the connection without another word (shutdown past its deadline). */
  terminate(): void {
    this.transport.terminate();
  }

  // SessionSink: the hosted session's events, for the socket it is attached to.

  transcript(event: TranscriptEvent): void {
    this.adapter.transcript(event);
    this.tellSettled();
  }

  failure(error: SessionError): void {
    this.log.warn('session failure', { code: error.code, error: error.message });
    this.adapter.error(error.code, error.message);
  }

  speech(event: SpeechEvent): void {
    this.adapter.speech(event);
    this.tellSettled();
    // Speech detection runs behind the audio, so an utterance ending is when the backlog of finals grows.
    const host = this.host;
    if (event.type === 'stopped' && host) this.backlog.check(() => host.session.pendingFinalMs);
  }

  replaced(): void {
    this.log.info('session resumed on another connection');
    this.limits.stop();
    this.transport.close(CloseCode.replaced, 'session resumed elsewhere');
  }

  /** The session, resumed here while another connection ended it, has ended: this connection closes too. */
  ended(code: number, reason: string): void {
    this.limits.stop();
    if (this.finishing) return;
    this.adapter.closing();
    this.transport.close(code, reason);
  }

  /**
   * A message as it arrives, before anything parses it: a text message past the protocol's bound in bytes, or in
   * JSON structure, closes the connection with 1009; otherwise it is counted and its text charged as audio.
   */
  private admit(text: Uint8Array | null): boolean {
    if (this.closed) return false;
    const { maxTextBytes } = this.options.limits;
    const refusal =
      text === null
        ? null
        : text.byteLength > maxTextBytes
          ? `text messages here hold at most ${maxTextBytes} bytes; got ${text.byteLength}`
          : exceedsStructure(text, MAX_TEXT_STRUCTURE)
            ? `text messages hold at most ${MAX_TEXT_STRUCTURE} of JSON's structural characters ({ [ : ,)`
            : null;
    if (refusal !== null) {
      this.log.warn('closing a connection that sent an oversized text message', { bytes: text?.byteLength });
      this.refuseConnection('too_large', 'frame_too_large', CloseCode.messageTooBig, refusal);
      return false;
    }
    return this.charged(this.budget.message(text?.byteLength ?? 0));
  }

  /** Applies a charge against the inbound budget: reads paced, or the connection closed (false). */
  private charged(charge: Charge): boolean {
    if ('limit' in charge) {
      this.violation('rate_limited', charge.limit);
      return false;
    }
    this.pace(charge.waitMs);
    return true;
  }

  private violation(reason: string, message: string): void {
    if (this.closed) return;
    this.log.warn('closing a connection that broke a limit', { reason, message });
    this.refuseConnection(reason, 'rate_limited', CloseCode.policyViolation, message);
  }

  /**
   * Says why in the protocol, closes, and reads nothing more: a client flooding the connection would otherwise be
   * read (and its messages buffered) until it answered the close, which one that does not read never does. It gets
   * CLOSING_GRACE_MS to answer before the socket is dropped.
   */
  private refuseConnection(metric: string, code: ErrorCode, closeCode: number, message: string): void {
    if (this.closed) return;
    this.closed = true;
    this.options.refused(metric);
    this.adapter.error(code, `${message}: closing the connection`);
    this.gate.pause('closing');
    this.transport.close(closeCode, message.slice(0, 120));
    this.graceTimer = setTimeout(() => this.transport.terminate(), CLOSING_GRACE_MS);
  }

  /** More than MAX_BUFFERED_BYTES wait for the client, whatever put them there: it does not read, and is dropped. */
  private dropNonReader(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.refused('buffer');
    this.log.warn('dropping a client that does not read', { bufferedBytes: this.transport.bufferedAmount });
    this.transport.terminate();
  }

  private async open(resume: ResumeRequest | null): Promise<void> {
    try {
      if (resume) {
        const outcome = await this.options.registry.resume(resume, this.options.principal, this.options.quotaKey);
        if (outcome.ok) return this.resumeOn(outcome.host, resume.lastSeq);
        this.adapter.error('resume_failed', `cannot resume: ${outcome.reason}; continuing with a new session`);
      }
      await this.startSession(this.adapter.connectOptions);
    } catch (error) {
      if (error instanceof ProtocolError || error instanceof SessionError) {
        this.adapter.error(error.code, error.message);
        this.options.refused(error.code);
        this.transport.close(
          CloseCode.tryAgainLater,
          error.code === 'overloaded'
            ? 'server at capacity'
            : error.code === 'store_unavailable'
              ? 'session store unavailable'
              : 'too many sessions',
        );
        return;
      }
      this.log.error('could not start a session', { error });
      this.transport.close(CloseCode.internalError, 'could not start a session');
    }
  }

  private async startSession(options: SessionOptions): Promise<HostedSession> {
    const { host, resumeToken } = await this.options.registry.create(this.options.principal, this.options.quotaKey);
    try {
      this.configure(host, options);
    } catch (error) {
      await this.options.registry.purge(host);
      throw error;
    }
    this.adapter.started({
      id: host.id,
      resumeToken: this.adapter.resumable ? resumeToken : null,
      resumeTtlMs: this.options.registry.resumeTtlMs,
      resumed: false,
      samplesReceived: 0,
    });
    this.attach(host, -1);
    this.log.info('session started', { session: host.id });
    return host;
  }

  private resumeOn(host: HostedSession, lastSeq: number): void {
    this.budget.resumed();
    this.adapter.started({
      id: host.id,
      resumeToken: null,
      resumeTtlMs: this.options.registry.resumeTtlMs,
      resumed: true,
      samplesReceived: host.session.samplesReceived,
    });
    this.skipSamples = resendOverlap(host.session.samplesReceived);
    this.attach(host, lastSeq);
    this.log.info('session resumed', { session: host.id, lastSeq });
  }

  private attach(host: HostedSession, lastSeq: number): void {
    this.host = host;
    this.log = this.options.log.child({ session: host.id });
    // Attached even if the socket closed meanwhile: its close then detaches it like any lost connection.
    host.attach(this, lastSeq);
    this.limits.start(host.createdAt);
  }

  private configure(host: HostedSession, options: SessionOptions): void {
    if (options.language !== undefined) host.session.setLanguage(options.language);
    if (options.prompt !== undefined) host.session.setPrompt(options.prompt);
    if (options.endpointingMs !== undefined) host.session.setEndpointing(options.endpointingMs);
  }

  private closedBy(code: number): void {
    this.closed = true;
    this.heartbeat?.stop();
    this.backlog.stop();
    this.limits.stop();
    if (this.paceTimer) clearTimeout(this.paceTimer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    const host = this.host;
    this.log.info('connection closed', {
      code,
      protocol: this.adapter.protocol,
      audioMs: host ? Math.floor(host.session.samplesReceived / 16) : 0,
    });
    if (!host || this.finishing || this.stopping || !host.isAttachedTo(this)) return;
    // A clean close from the client means it is done; anything else may be a lost connection it will resume.
    if (this.adapter.resumable && code !== CloseCode.normal) host.detach(this);
    else void this.options.registry.purge(host);
  }

  /** `text`: the message was text, whose audio (if it carried any) was charged by its bytes on arrival. */
  private async receive(message: In, text: boolean): Promise<void> {
    if (this.closed || this.handingOver) return;
    let commands: Command[];
    try {
      commands = this.adapter.decode(message);
    } catch (error) {
      this.reportError(error);
      return;
    }
    if (!commands.some((command) => command.type === 'audio')) {
      const limit = this.budget.controlMessage();
      if (limit !== null) return this.violation('rate_limited', limit);
    }
    for (const command of commands) {
      try {
        await this.run(command, text);
      } catch (error) {
        this.reportError(error);
      }
    }
  }

  private async run(command: Command, text: boolean): Promise<void> {
    if (command.type === 'resume') return this.resumeMessage(command.request);
    this.started = true;
    if (command.type === 'flush' || command.type === 'stop') await this.flushTurn();
    const host = this.host?.isAttachedTo(this) ? this.host : null;
    switch (command.type) {
      case 'audio':
        return this.audio(host, command.pcm, text);
      case 'keepalive':
        this.limits.touch();
        return;
      case 'start': {
        if (host || this.stopping)
          return refuse(command.done, 'already_started', 'a session is running; stop it first');
        try {
          const started = await this.startSession(command.options);
          command.done?.({ sessionId: started.id });
        } catch (error) {
          const known = error instanceof ProtocolError || error instanceof SessionError;
          command.done?.(
            known
              ? { code: error.code, message: error.message }
              : { code: 'internal_error', message: 'the server could not start a session' },
          );
          throw error;
        }
        return;
      }
      case 'configure':
        if (!host) throw new ProtocolError('not_started', 'there is no session to configure; start one first');
        this.configure(host, command.options);
        command.done?.();
        return;
      case 'flush': {
        try {
          if (!host) throw new ProtocolError('not_started', 'there is no session to flush');
          await host.session.flush();
        } finally {
          command.done?.();
        }
        const settled = command.settled;
        if (settled)
          void host.session
            .finalsSettled()
            .then(() => host.drained())
            .then(settled);
        return;
      }
      case 'discard':
        if (!host) throw new ProtocolError('not_started', 'there is no session to discard audio of');
        await host.session.discard();
        command.done?.();
        return;
      case 'stop':
        if (!host) return refuse(command.done, 'not_started', 'there is no session to stop');
        await this.stop(host);
        command.done?.({ sessionId: host.id });
        return;
      case 'end':
        if (this.finishing) throw new SessionError('session_ended', 'the session is already ending');
        void this.finish(CloseCode.normal, 'end of stream');
        return;
    }
  }

  private audio(host: HostedSession | null, pcm: Uint8Array, text: boolean): void {
    if (pcm.byteLength % 2 !== 0) {
      throw new ProtocolError(
        'odd_frame_length',
        `audio must hold whole 16-bit samples; got ${pcm.byteLength} bytes, dropped`,
      );
    }
    if (pcm.byteLength > this.options.limits.maxFrameBytes) {
      throw new ProtocolError(
        'frame_too_large',
        `one message may carry at most ${this.options.limits.maxFrameBytes} bytes of 16 kHz audio (1 s); got ` +
          `${pcm.byteLength}, dropped`,
      );
    }
    if (this.finishing || this.stopping) {
      // Said once: a client still streaming while its session ends would otherwise be told so for every frame, and
      // closed for the error rate on top.
      if (this.toldEnded) return;
      this.toldEnded = true;
      throw new SessionError('session_ended', 'the session has ended; open a new connection');
    }
    if (!host) throw new ProtocolError('not_started', 'start a session before sending audio; this audio was dropped');
    const skip = Math.min(this.skipSamples, pcm.byteLength / 2);
    this.skipSamples -= skip;
    if (skip * 2 < pcm.byteLength) host.pushAudio(skip > 0 ? pcm.subarray(skip * 2) : pcm);
    this.limits.touch();
    this.adapter.audio(host.ackableSamples);
    this.tellSettled();
    this.backlog.check(() => host.session.pendingFinalMs);
    if (!text) this.charged(this.budget.audioMs(pcm.byteLength / 2 / SAMPLES_PER_MS));
  }

  /**
   * Utterance-ending messages beyond MAX_FLUSHES_PER_S wait their turn, and the connection is not read meanwhile:
   * each costs a final, and a client asking for one every few hundred milliseconds pays for it with its own latency.
   */
  private async flushTurn(): Promise<void> {
    const waitMs = this.budget.flush();
    if (waitMs === 0) return;
    this.gate.pause('flushes');
    await sleep(waitMs, undefined, { ref: false });
    this.gate.resume('flushes');
  }

  /** Reads more slowly from a client that sends audio faster than MAX_AUDIO_RATE allows after its burst. */
  private pace(waitMs: number): void {
    if (waitMs === 0 || this.paceTimer || this.closed) return;
    this.gate.pause('pacing');
    this.options.readsPaced();
    this.paceTimer = setTimeout(() => {
      this.paceTimer = null;
      this.gate.resume('pacing');
    }, waitMs);
  }

  /** A resume as the first message replaces the fresh session announced at connect. */
  private async resumeMessage(request: ResumeRequest): Promise<void> {
    if (!this.adapter.resumable) throw new ProtocolError('unknown_type', 'this protocol has no resume');
    if (this.started) throw new ProtocolError('bad_message', 'resume must be the first message on a connection');
    this.started = true;
    const fresh = this.host;
    const outcome = await this.options.registry.resume(request, this.options.principal, this.options.quotaKey);
    if (!outcome.ok || outcome.host === fresh) {
      const reason = outcome.ok ? 'that is this connection’s own new session' : outcome.reason;
      this.adapter.error('resume_failed', `cannot resume: ${reason}; continuing with the new session`);
      return;
    }
    this.resumeOn(outcome.host, request.lastSeq);
    if (fresh) await this.options.registry.purge(fresh);
  }

  /** Finalizes the session's audio, sends the remaining events, then tells the adapter it stopped. */
  private stop(host: HostedSession): Promise<void> {
    this.limits.stop();
    this.stopping ??= (async () => {
      await this.finalize(host);
      this.adapter.stopped(host.id);
      await this.options.registry.purge(host);
      this.host = null;
      this.stopping = null;
      this.toldEnded = false;
      if (this.transport.open) this.limits.touch();
    })();
    return this.stopping;
  }

  private async finalize(host: HostedSession): Promise<void> {
    try {
      await host.session.end();
    } catch (error) {
      if (!(error instanceof SessionError)) this.log.error('ending the session failed', { error });
    }
    await host.drained();
  }

  /** Tells an adapter that asks how far the session's audio is settled (see ProtocolAdapter.settled). */
  private tellSettled(): void {
    const host = this.host;
    if (!this.adapter.settled || !host?.isAttachedTo(this)) return;
    this.adapter.settled(host.session.checkpoint().audioSample);
  }

  private reportError(error: unknown): void {
    if (!this.errors.take()) {
      this.violation('errors', `more than ${this.options.limits.maxErrorsPerS} bad messages per second`);
      return;
    }
    if (error instanceof ProtocolError || error instanceof SessionError) {
      this.adapter.error(error.code, error.message);
      return;
    }
    this.log.error('unexpected error handling a client message', { error });
    const code: ErrorCode = 'internal_error';
    this.adapter.error(code, 'the server could not handle that message');
  }
}
