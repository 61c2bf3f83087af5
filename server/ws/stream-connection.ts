import type { RawData, WebSocket } from 'ws';
import { SessionError, type TranscriptEvent } from '../../engine/pipeline/index.js';
import { BacklogGuard } from './backlog-guard.js';
import { CloseCode } from './close-codes.js';
import { Heartbeat } from './heartbeat.js';
import type { Logger } from '../log.js';
import {
  ProtocolError,
  ackMessage,
  checkAudioFrame,
  errorMessage,
  parseCommand,
  receivedMs,
  resendOverlap,
  resumedMessage,
  sessionMessage,
  transcriptMessage,
  type ClientCommand,
  type ResumeRequest,
} from '../../protocol/stream.js';
import type { HostedSession, SessionSink } from '../sessions/hosted-session.js';
import { SessionLimits } from '../sessions/session-limits.js';
import type { SessionRegistry } from '../sessions/session-registry.js';

export interface StreamConnectionOptions {
  registry: SessionRegistry;
  principal: string;
  maxFrameBytes: number;
  ackIntervalMs: number;
  pingIntervalMs: number;
  idleTimeoutMs: number;
  maxSessionMs: number;
  /** Audio awaiting finals above which the client is warned that inference is falling behind (see BacklogGuard). */
  overloadPendingMs: number;
  /** The socket stopped being read because this session's finals fell too far behind. */
  readsPaused: () => void;
  log: Logger;
}

/**
 * Binds one WebSocket to one hosted session: parses what the client sends into session calls and serialises the
 * session's events back. Nothing a client sends can throw past this point; it gets an error message instead.
 * Messages are handled strictly in order, including while a session is being created or resumed.
 */
export class StreamConnection implements SessionSink {
  private host: HostedSession | null = null;
  private inbox: Promise<void>;
  /** Anything but a resume arrived: a resume message is no longer allowed. */
  private started = false;
  private finishing: Promise<void> | null = null;
  private nextAckMs = 0;
  /** After a resume: samples at the start of the client's resend that the session already has (see resendOverlap). */
  private skipSamples = 0;
  private readonly limits: SessionLimits;
  private readonly heartbeat: Heartbeat<{ host: HostedSession; seq: number } | null>;
  private readonly backlog: BacklogGuard;
  private log: Logger;

  constructor(
    private readonly ws: WebSocket,
    resume: ResumeRequest | null,
    private readonly options: StreamConnectionOptions,
  ) {
    this.log = options.log;
    this.limits = new SessionLimits(
      options.idleTimeoutMs,
      options.maxSessionMs,
      () => void this.finish(CloseCode.idle, 'idle timeout: no audio'),
      () => void this.finish(CloseCode.maxDuration, 'maximum session duration reached'),
    );
    this.inbox = this.open(resume);
    ws.on('message', (data, isBinary) => {
      this.inbox = this.inbox.then(() => this.receive(data, isBinary));
    });
    ws.on('close', (code) => void this.inbox.then(() => this.closed(code)));
    ws.on('error', (error) => this.log.warn('socket error', { error }));
    this.heartbeat = new Heartbeat(
      ws,
      options.pingIntervalMs,
      () => (this.host?.isAttachedTo(this) ? { host: this.host, seq: this.host.sentSeq } : null),
      // Only what went to this socket while it was the session's; a replaced socket's pong proves nothing now.
      (proof) => {
        if (proof?.host.isAttachedTo(this)) proof.host.delivered(proof.seq);
      },
      () => {
        this.log.info('no pong: dropping the socket');
        ws.terminate();
      },
    );
    this.backlog = new BacklogGuard(
      ws,
      this.heartbeat,
      options.overloadPendingMs,
      () => this.log,
      (message) => this.send(errorMessage('overloaded', message)),
      options.readsPaused,
    );
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
        try {
          await host.session.end();
        } catch (error) {
          if (!(error instanceof SessionError)) this.log.error('ending the session failed', { error });
        }
        await host.drained();
        // The client may have resumed the session on another socket while it ended: that one is closed too.
        host.ended(code, reason);
      }
      this.ws.close(code, reason);
      if (host) await this.options.registry.purge(host);
    })();
    return this.finishing;
  }

  ended(code: number, reason: string): void {
    this.limits.stop();
    this.ws.close(code, reason);
  }

  transcript(event: TranscriptEvent): void {
    this.send(transcriptMessage(event));
  }

  failure(error: SessionError): void {
    this.log.warn('session failure', { code: error.code, error: error.message });
    this.send(errorMessage(error.code, error.message));
  }

  replaced(): void {
    this.log.info('session resumed on another socket');
    this.limits.stop();
    this.ws.close(CloseCode.replaced, 'session resumed elsewhere');
  }

  private async open(resume: ResumeRequest | null): Promise<void> {
    try {
      if (resume) {
        const outcome = await this.options.registry.resume(resume, this.options.principal);
        if (outcome.ok) return this.resumeOn(outcome.host, resume.lastSeq);
        this.send(errorMessage('resume_failed', `cannot resume: ${outcome.reason}; continuing with a new session`));
      }
      const { host, resumeToken } = await this.options.registry.create(this.options.principal);
      this.send(sessionMessage(host.id, resumeToken, this.options.registry.resumeTtlMs));
      this.attach(host, -1);
      this.log.info('session started', { session: host.id });
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.send(errorMessage(error.code, error.message));
        this.ws.close(CloseCode.tryAgainLater, 'too many sessions');
        return;
      }
      this.log.error('could not start a session', { error });
      this.ws.close(CloseCode.internalError, 'could not start a session');
    }
  }

  private resumeOn(host: HostedSession, lastSeq: number): void {
    this.send(resumedMessage(host.id, receivedMs(host.session.samplesReceived)));
    this.skipSamples = resendOverlap(host.session.samplesReceived);
    this.attach(host, lastSeq);
    this.log.info('session resumed', { session: host.id, lastSeq });
  }

  private attach(host: HostedSession, lastSeq: number): void {
    this.host = host;
    this.log = this.options.log.child({ session: host.id });
    const audioMs = receivedMs(host.session.samplesReceived);
    this.nextAckMs = (Math.floor(audioMs / this.options.ackIntervalMs) + 1) * this.options.ackIntervalMs;
    // Attached even if the socket closed meanwhile: its close then detaches it like any lost connection.
    host.attach(this, lastSeq);
    this.limits.start(host.createdAt);
  }

  private closed(code: number): void {
    this.heartbeat.stop();
    this.backlog.stop();
    this.limits.stop();
    const host = this.host;
    this.log.info('stream closed', { code, audioMs: host ? receivedMs(host.session.samplesReceived) : 0 });
    if (!host || this.finishing || !host.isAttachedTo(this)) return;
    // A clean close from the client means it is done; anything else may be a lost connection it will resume.
    if (code === CloseCode.normal) void this.options.registry.purge(host);
    else host.detach(this);
  }

  private async receive(data: RawData, isBinary: boolean): Promise<void> {
    const host = this.host;
    if (!host || !host.isAttachedTo(this)) return;
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    try {
      if (isBinary) {
        this.started = true;
        const problem = checkAudioFrame(bytes.byteLength, this.options.maxFrameBytes);
        if (problem) throw problem;
        if (this.finishing) throw new SessionError('session_ended', 'the session has ended; open a new connection');
        const skip = Math.min(this.skipSamples, bytes.byteLength / 2);
        this.skipSamples -= skip;
        if (skip * 2 < bytes.byteLength) host.pushAudio(skip > 0 ? bytes.subarray(skip * 2) : bytes);
        this.limits.touch();
        this.acknowledge(host);
        this.backlog.check(() => host.session.pendingFinalMs);
      } else {
        await this.run(host, parseCommand(bytes.toString('utf8')));
      }
    } catch (error) {
      this.reportError(error);
    }
  }

  private async run(host: HostedSession, command: ClientCommand): Promise<void> {
    if (command.type === 'resume') return this.resumeMessage(host, command);
    this.started = true;
    switch (command.type) {
      case 'config':
        host.session.setLanguage(command.language);
        return;
      case 'flush':
        host.session.flush();
        return;
      case 'end':
        if (this.finishing) throw new SessionError('session_ended', 'the session is already ending');
        void this.finish(CloseCode.normal, 'end of stream');
        return;
    }
  }

  /** A resume as the first message replaces the fresh session announced at connect. */
  private async resumeMessage(fresh: HostedSession, request: ResumeRequest): Promise<void> {
    if (this.started) throw new ProtocolError('bad_message', 'resume must be the first message on a connection');
    this.started = true;
    const outcome = await this.options.registry.resume(request, this.options.principal);
    if (!outcome.ok || outcome.host === fresh) {
      const reason = outcome.ok ? 'that is this connection’s own new session' : outcome.reason;
      this.send(errorMessage('resume_failed', `cannot resume: ${reason}; continuing with the new session`));
      return;
    }
    this.resumeOn(outcome.host, request.lastSeq);
    await this.options.registry.purge(fresh);
  }

  private acknowledge(host: HostedSession): void {
    const audioMs = receivedMs(host.session.samplesReceived);
    if (audioMs < this.nextAckMs) return;
    this.send(ackMessage(audioMs));
    this.nextAckMs = (Math.floor(audioMs / this.options.ackIntervalMs) + 1) * this.options.ackIntervalMs;
  }

  private reportError(error: unknown): void {
    if (error instanceof ProtocolError || error instanceof SessionError) {
      this.send(errorMessage(error.code, error.message));
      return;
    }
    this.log.error('unexpected error handling a client message', { error });
    this.send(errorMessage('internal_error', 'the server could not handle that message'));
  }

  private send(message: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(message);
  }
}
