import type { RawData, WebSocket } from 'ws';
import { SessionError, type TranscriptEvent } from '../../engine/pipeline/index.js';
import { BacklogGuard } from './backlog-guard.js';
import { CloseCode } from './close-codes.js';
import { Heartbeat } from './heartbeat.js';
import type { Logger } from '../log.js';
import { ProtocolError, checkAudioFrame } from '../../protocol/stream.js';
import type { HostedSession, SessionSink } from '../sessions/hosted-session.js';
import { SessionLimits } from '../sessions/session-limits.js';
import type { SessionRegistry } from '../sessions/session-registry.js';
import { parseSpeechCommand, speechErrorEvent, speechEvent, speechTranscriptEvent, type SpeechCommand } from '../../protocol/speech.js';

export interface SpeechConnectionOptions {
  registry: SessionRegistry;
  principal: string;
  maxFrameBytes: number;
  pingIntervalMs: number;
  idleTimeoutMs: number;
  maxSessionMs: number;
  /** As for /stream (see BacklogGuard). */
  overloadPendingMs: number;
  readsPaused: () => void;
  log: Logger;
}

/**
 * Binds one WebSocket to the /speech protocol: explicit start and stop around each session, events named by kind.
 * The session core is the one /stream uses; a /speech session is not resumable, so it ends with its socket.
 */
export class SpeechConnection implements SessionSink {
  private host: HostedSession | null = null;
  private stopping: Promise<void> | null = null;
  private inbox: Promise<void> = Promise.resolve();
  private readonly limits: SessionLimits;
  private readonly heartbeat: Heartbeat<{ host: HostedSession; seq: number } | null>;
  private readonly backlog: BacklogGuard;
  private log: Logger;

  constructor(
    private readonly ws: WebSocket,
    private readonly options: SpeechConnectionOptions,
  ) {
    this.log = options.log;
    this.limits = new SessionLimits(
      options.idleTimeoutMs,
      options.maxSessionMs,
      () => void this.finish(CloseCode.idle, 'idle timeout: no audio'),
      () => void this.finish(CloseCode.maxDuration, 'maximum session duration reached'),
    );
    // Between sessions the idle clock runs too, so a socket that never starts one does not stay open for ever.
    this.limits.touch();
    ws.on('message', (data, isBinary) => {
      this.inbox = this.inbox.then(() => this.receive(data, isBinary));
    });
    ws.on('close', (code) => void this.inbox.then(() => this.closed(code)));
    ws.on('error', (error) => this.log.warn('socket error', { error }));
    this.heartbeat = new Heartbeat(
      ws,
      options.pingIntervalMs,
      () => (this.host?.isAttachedTo(this) ? { host: this.host, seq: this.host.sentSeq } : null),
      (proof) => {
        if (proof?.host.isAttachedTo(this)) proof.host.delivered(proof.seq);
      },
      () => ws.terminate(),
    );
    this.backlog = new BacklogGuard(
      ws,
      this.heartbeat,
      options.overloadPendingMs,
      () => this.log,
      (message) => this.send(speechErrorEvent('overloaded', message)),
      options.readsPaused,
    );
  }

  /** Finalizes the running session, if any, sends its finals, and closes with `code`. */
  async finish(code: number, reason: string): Promise<void> {
    await this.stop();
    this.ws.close(code, reason);
  }

  transcript(event: TranscriptEvent): void {
    this.send(speechTranscriptEvent(event));
  }

  failure(error: SessionError): void {
    this.send(speechErrorEvent(error.code, error.message));
  }

  replaced(): void {
    this.ws.close(CloseCode.replaced, 'session taken over elsewhere');
  }

  /** /speech sessions end with `stopped`, and the socket stays open for the next one. */
  ended(): void {}

  private async receive(data: RawData, isBinary: boolean): Promise<void> {
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    try {
      if (isBinary) {
        const problem = checkAudioFrame(bytes.byteLength, this.options.maxFrameBytes);
        if (problem) throw problem;
        if (!this.host || this.stopping) throw new ProtocolError('not_started', 'send {"type": "start"} before audio; this audio was dropped');
        const host = this.host;
        host.pushAudio(bytes);
        this.limits.touch();
        this.backlog.check(() => host.session.pendingFinalMs);
      } else {
        await this.run(parseSpeechCommand(bytes.toString('utf8')));
      }
    } catch (error) {
      this.reportError(error);
    }
  }

  private async run(command: SpeechCommand): Promise<void> {
    if (command.type === 'stop') {
      if (!this.host) throw new ProtocolError('not_started', 'there is no session to stop');
      return this.stop();
    }
    if (this.host) throw new ProtocolError('already_started', 'a session is running; send {"type": "stop"} first');
    const { host } = await this.options.registry.create(this.options.principal);
    try {
      if (command.language !== undefined) host.session.setLanguage(command.language);
    } catch (error) {
      await this.options.registry.purge(host);
      throw error;
    }
    this.host = host;
    this.log = this.options.log.child({ session: host.id });
    this.send(speechEvent('started', host.id));
    host.attach(this, -1);
    this.limits.start(host.createdAt);
  }

  /** Finalizes the session's audio, sends the remaining events, then `stopped`. */
  private stop(): Promise<void> {
    const host = this.host;
    if (!host) return Promise.resolve();
    this.limits.stop();
    this.stopping ??= (async () => {
      try {
        await host.session.end();
      } catch (error) {
        if (!(error instanceof SessionError)) this.log.error('ending the session failed', { error });
      }
      await host.drained();
      this.send(speechEvent('stopped', host.id));
      await this.options.registry.purge(host);
      this.host = null;
      this.stopping = null;
      if (this.ws.readyState === this.ws.OPEN) this.limits.touch();
    })();
    return this.stopping;
  }

  private closed(code: number): void {
    this.heartbeat.stop();
    this.backlog.stop();
    this.limits.stop();
    this.log.info('speech socket closed', { code });
    if (this.host && !this.stopping) void this.options.registry.purge(this.host);
  }

  private reportError(error: unknown): void {
    if (error instanceof ProtocolError || error instanceof SessionError) {
      this.send(speechErrorEvent(error.code, error.message));
      return;
    }
    this.log.error('unexpected error handling a client message', { error });
    this.send(speechErrorEvent('internal_error', 'the server could not handle that message'));
  }

  private send(message: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(message);
  }
}
