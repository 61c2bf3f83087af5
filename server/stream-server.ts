/**
 * The server's sockets: one HTTP (or HTTPS) listener for the routes of http/router.ts and the WebSocket endpoints of
 * ws/routes.ts, whose upgrades it checks (origin, readiness, credential, admission) before binding each accepted
 * connection to the session core. It also stops them all, gracefully, within a deadline.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_FRAME_MS, msToSamples } from '../engine/pipeline/index.js';
import { ProtocolError } from '../protocol/errors.js';
import type { ResumeRequest } from '../protocol/stream.js';
import type { Authenticator } from './auth/authenticator.js';
import { BEARER_SUBPROTOCOL } from './auth/credential.js';
import { REALTIME_SUBPROTOCOL } from './auth/realtime-credential.js';
import type { OriginPolicy } from './http/origin-policy.js';
import { requestTarget } from './http/request-target.js';
import { refuseUpgrade } from './http/respond.js';
import type { HttpRouter } from './http/router.js';
import type { Logger } from './log.js';
import type { ServerMetrics } from './metrics.js';
import { FAILED_RESUMES_PER_MINUTE } from './sessions/resume-throttle.js';
import type { SessionRegistry } from './sessions/session-registry.js';
import type { ProtocolAdapter } from './ws/adapter.js';
import { CloseCode } from './ws/close-codes.js';
import { WS_ROUTES, type AdapterSettings, type WsRoute } from './ws/routes.js';
import { SocketBinding, type ConnectionLimits } from './ws/socket-binding.js';
import type { Transport } from './ws/transport.js';
import { WsTransport, type Frame } from './ws/ws-transport.js';
import type { Refusal, RefusalCode, StatusOf } from '../protocol/http-errors.js';

/** What shutdown needs of a socket binding. */
export interface Connection {
  finish(code: number, reason: string): Promise<void>;
  handOver(): Promise<void>;
  terminate(): void;
}

/** Everything a session needs once the model is loaded; until then the server is alive but not ready. */
export interface StreamRuntime {
  registry: SessionRegistry;
  authenticator: Authenticator;
  limits: Omit<ConnectionLimits, 'maxFrameBytes' | 'maxTextBytes'>;
  adapterSettings: AdapterSettings;
}

/** Who an accepted connection is, besides its transport and adapter. */
export interface AcceptedConnection {
  principal: string;
  /** Without authentication, detached-session quotas count per client address. */
  remoteAddress: string | undefined;
  resume: ResumeRequest | null;
  log: Logger;
  /** Longest text message the protocol takes (see WsRoute); events whose text socket.io parses have none. */
  maxTextBytes: number;
}

export interface StreamServerOptions {
  log: Logger;
  metrics: ServerMetrics;
  router: HttpRouter;
  origins: OriginPolicy;
  /** PEM certificate and key: the server speaks HTTPS and WSS. */
  tls: { cert: Buffer; key: Buffer } | null;
  shutdownTimeoutMs: number;
  /** Sessions are handed off to other instances at shutdown rather than finalized (a shared session store). */
  handOverAtShutdown: boolean;
}

/** Audio per message a protocol may carry, as 16 kHz PCM after conversion. */
export const MAX_FRAME_BYTES = msToSamples(MAX_FRAME_MS) * 2;
// Frames over MAX_FRAME_BYTES get a protocol error and are dropped; only absurd ones make ws close the socket (1009).
export const MAX_PAYLOAD_BYTES = 1 << 20;
/** Whether `deadline` (performance.now() time) passes before `work` is done. */
async function passes(deadline: number, work: Promise<void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([
    work.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), Math.max(0, deadline - performance.now()));
    }),
  ]);
  clearTimeout(timer);
  return late;
}

/** Seconds a client refused for load should wait before trying again. */
const RETRY_AFTER_S = 5;

/**
 * Whose quotas (detached sessions, failed resumes) a client counts against: its principal, or its address without auth.
 */
function quotaKeyOf(runtime: StreamRuntime, principal: string, remoteAddress: string | undefined): string {
  return runtime.authenticator.enabled ? principal : `addr:${remoteAddress ?? 'unknown'}`;
}

export class StreamServer {
  private readonly http: Server;
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_PAYLOAD_BYTES,
    // A browser passing its token as ['bearer', token] needs `bearer` echoed back, or it drops the connection; OpenAI's
    // browser client offers ['realtime', 'openai-insecure-api-key.<key>'] and needs `realtime`.
    handleProtocols: (protocols) =>
      protocols.has(BEARER_SUBPROTOCOL)
        ? BEARER_SUBPROTOCOL
        : protocols.has(REALTIME_SUBPROTOCOL)
          ? REALTIME_SUBPROTOCOL
          : (protocols.values().next().value ?? false),
  });
  private readonly connections = new Set<Connection>();
  /** Resolves close()'s wait once the last connection has closed. */
  private allClosed: (() => void) | null = null;
  private runtime: StreamRuntime | null = null;
  private nextConnectionId = 1;
  /** Path prefixes whose upgrades a protocol attached to the HTTP server handles itself (Socket.IO). */
  private readonly delegatedUpgrades: string[] = [];
  /** Such protocols' own shutdown, once the connections are finished and before the listener closes. */
  private readonly closers: (() => void)[] = [];
  /** The socket under every upgraded connection, Socket.IO's included: at the shutdown deadline any still open goes. */
  private readonly upgraded = new Set<Duplex>();

  constructor(private readonly options: StreamServerOptions) {
    const handler = (req: IncomingMessage, res: import('node:http').ServerResponse): void =>
      options.router.route(req, res, this.runtime !== null);
    this.http = options.tls
      ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler)
      : createHttpServer(handler);
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgraded.add(socket);
      socket.once('close', () => this.upgraded.delete(socket));
      void this.upgrade(req, socket, head);
    });
  }

  get scheme(): 'http' | 'https' {
    return this.options.tls ? 'https' : 'http';
  }

  /** The HTTP server, for protocols that attach to it themselves (Socket.IO). */
  get server(): Server {
    return this.http;
  }

  /** The runtime while new connections are accepted: null until ready, and again from the start of shutdown. */
  get accepting(): StreamRuntime | null {
    return this.runtime;
  }

  /**
   * Leaves upgrades whose target starts with `prefix` to a protocol that listens on the HTTP server itself; `close`
   * drops its remaining connections at shutdown (the HTTP server cannot close while any is open).
   */
  delegateUpgrades(prefix: string, close: () => void): void {
    this.delegatedUpgrades.push(prefix);
    this.closers.push(close);
  }

  /** A logger for one more connection, numbered across every protocol. */
  connectionLog(): Logger {
    return this.options.log.child({ connection: this.nextConnectionId++ });
  }

  /** Binds an accepted connection, whatever carries it, to the session core, and tracks it for shutdown. */
  bind<In>(
    runtime: StreamRuntime,
    transport: Transport<In, unknown>,
    adapter: ProtocolAdapter<In>,
    accepted: AcceptedConnection,
  ): void {
    const binding = new SocketBinding<In>(transport, adapter, {
      // Sessions of a protocol without resume never touch the shared store, so they run while it is down.
      registry: adapter.resumable ? runtime.registry : runtime.registry.withoutResume(),
      principal: accepted.principal,
      quotaKey: quotaKeyOf(runtime, accepted.principal, accepted.remoteAddress),
      limits: { ...runtime.limits, maxFrameBytes: MAX_FRAME_BYTES, maxTextBytes: accepted.maxTextBytes },
      resume: accepted.resume,
      log: accepted.log,
      refused: (reason) => this.options.metrics.refused(reason),
      readsPaused: () => this.options.metrics.readsPaused(),
      readsPaced: () => this.options.metrics.readsPaced(),
    });
    this.track(binding, (done) => transport.onClose(() => done()));
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve(this.http.address() as AddressInfo);
      });
    });
  }

  /** Starts accepting streams. */
  ready(runtime: StreamRuntime): void {
    this.runtime = runtime;
  }

  get openConnections(): number {
    return this.connections.size;
  }

  /** Tracks a connection for shutdown, whatever protocol serves it. */
  track(connection: Connection, closed: (done: () => void) => void): void {
    this.connections.add(connection);
    closed(() => {
      this.connections.delete(connection);
      if (this.connections.size === 0) this.allClosed?.();
    });
  }

  /**
   * Graceful stop: new upgrades get 503 at once, every open session is finalized and its finals sent, then its
   * connection closed with 1001 (with a shared store, resumable sessions are handed off instead and closed with 1012);
   * whatever is still open after the deadline is dropped, and the server stops listening.
   */
  async close(): Promise<void> {
    this.runtime = null;
    const deadline = performance.now() + this.options.shutdownTimeoutMs;
    const stop = (connection: Connection): Promise<void> =>
      this.options.handOverAtShutdown
        ? connection.handOver()
        : connection.finish(CloseCode.shuttingDown, 'server shutting down');
    // A connection has finished once its close frame is queued; a peer that never reads never answers it, so
    // shutdown waits for the sockets themselves to close (or the deadline), not only for the finals to be sent.
    const finishing = Promise.all([...this.connections].map(stop)).then(() =>
      this.connections.size === 0 ? undefined : new Promise<void>((resolve) => (this.allClosed = resolve)),
    );
    if (await passes(deadline, finishing)) {
      this.options.log.warn('shutdown deadline passed: dropping the connections still open', {
        connections: this.connections.size,
      });
      for (const connection of this.connections) connection.terminate();
    }
    for (const close of this.closers) close();
    const closed = new Promise<void>((resolve) => {
      this.wss.close(() => this.http.close(() => resolve()));
      this.http.closeAllConnections();
    });
    // Socket.IO's bindings are done when their sockets disconnect, before the WebSocket underneath has closed: one
    // whose peer does not read would hold the listener open for ws's 30 s closing handshake.
    if (await passes(deadline, closed)) {
      this.options.log.warn('shutdown deadline passed: dropping the sockets still closing', {
        sockets: this.upgraded.size,
      });
      for (const socket of this.upgraded) socket.destroy();
      await closed;
    }
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.delegatedUpgrades.some((prefix) => req.url?.startsWith(prefix))) return;
    // The client may hang up while we authenticate; that must not become an unhandled 'error'.
    const ignore = (): void => undefined;
    socket.on('error', ignore);
    const target = requestTarget(req);
    if (!target) return refuseUpgrade(socket, 400, { error: 'bad request target' });
    const route = WS_ROUTES.find((r) => r.path === target.pathname);
    if (!route) return refuseUpgrade(socket, 404, { error: 'not found' });
    const refuse = <C extends RefusalCode>(
      status: NoInfer<StatusOf<C>>,
      body: Refusal<C>,
      headers: Record<string, string> = {},
    ): void => refuseUpgrade(socket, status, body, headers, route.refusalBody);
    if (!this.options.origins.allows(req)) {
      this.options.metrics.refused('origin');
      return refuse(403, { error: 'forbidden', message: 'this origin may not connect (ALLOWED_ORIGINS)' });
    }
    if (!this.runtime) return refuse(503, { error: 'not ready' });
    let principal: string;
    try {
      // The path is the scope a temporary token must have been minted for.
      const credential = route.credential(req, target.searchParams);
      const auth = await this.runtime.authenticator.verify(credential, route.missingCredential, route.path);
      if (!auth.ok) {
        this.options.metrics.refused('unauthorized');
        if (route.unauthorized) return this.refuseInBand(req, socket, head, route.unauthorized, auth.reason);
        return refuse(401, { error: 'unauthorized', message: auth.reason });
      }
      principal = auth.principal;
    } catch (error) {
      this.options.log.error('authentication failed', { error });
      return refuse(500, { error: 'authentication failed' });
    }
    const runtime = this.runtime;
    if (!runtime) return refuse(503, { error: 'shutting down' });
    const resume = route.resume(target.searchParams);
    if (resume === 'malformed') {
      const message = 'resume needs session_id, resume_token and an integer last_seq >= -1';
      return refuse(400, { error: 'bad_request', message });
    }
    // Refused here, before a failed resume would start a new session in its place.
    const resumeWaitS = resume
      ? runtime.registry.resumeWaitS(quotaKeyOf(runtime, principal, req.socket.remoteAddress))
      : 0;
    if (resumeWaitS > 0) {
      this.options.metrics.refused('resume_rate');
      return refuse(
        429,
        {
          error: 'too many failed resumes',
          message: `${FAILED_RESUMES_PER_MINUTE} failed resumes within a minute`,
          retry_after_s: resumeWaitS,
        },
        { 'Retry-After': String(resumeWaitS) },
      );
    }
    let adapterFor: ((send: (message: string) => void) => ReturnType<WsRoute['adapter']>) | null = null;
    let resumable = true;
    try {
      const query = target.searchParams;
      resumable = route.adapter(() => undefined, query, runtime.adapterSettings, req).resumable;
      adapterFor = (send) => route.adapter(send, query, runtime.adapterSettings, req);
    } catch (error) {
      if (error instanceof ProtocolError) return refuse(400, { error: error.code, message: error.message });
      throw error;
    }
    const registry = resumable ? runtime.registry : runtime.registry.withoutResume();
    const refusal = resume ? null : registry.refusal;
    if (refusal) {
      this.options.metrics.refused(refusal);
      const message =
        refusal === 'overloaded'
          ? 'the server is at capacity'
          : refusal === 'store_unavailable'
            ? 'the session store does not answer'
            : 'too many sessions';
      return refuse(503, { error: message, retry_after_s: RETRY_AFTER_S }, { 'Retry-After': String(RETRY_AFTER_S) });
    }
    socket.off('error', ignore);
    const build = adapterFor;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, runtime, principal, route, resume, build, req));
  }

  /** Completes the upgrade only to say why in the protocol and close (see WsRoute.unauthorized). */
  private refuseInBand(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    refusal: NonNullable<WsRoute['unauthorized']>,
    reason: string,
  ): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => undefined);
      ws.send(refusal.message(reason));
      ws.close(refusal.code, refusal.reason);
    });
  }

  private accept(
    ws: WebSocket,
    runtime: StreamRuntime,
    principal: string,
    route: WsRoute,
    resume: ResumeRequest | null,
    adapterFor: (send: (message: string) => void) => ReturnType<WsRoute['adapter']>,
    req: IncomingMessage,
  ): void {
    const log = this.connectionLog();
    log.info('socket opened', {
      path: route.path,
      remote: req.socket.remoteAddress,
      principal,
      resume: resume !== null,
    });
    const transport = new WsTransport(ws);
    const adapter = adapterFor((message) => transport.send(message));
    this.bind<Frame>(runtime, transport, adapter, {
      principal,
      remoteAddress: req.socket.remoteAddress,
      resume,
      log,
      maxTextBytes: route.maxTextBytes,
    });
  }
}
