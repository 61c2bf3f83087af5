import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_FRAME_MS, msToSamples, type TranscriptionScheduler } from '../engine/pipeline/index.js';
import type { Authenticator } from './auth/authenticator.js';
import { BEARER_SUBPROTOCOL } from './auth/credential.js';
import { CloseCode } from './ws/close-codes.js';
import type { EventLoopLagMonitor } from './event-loop-lag.js';
import type { Logger } from './log.js';
import type { ServerMetrics } from './metrics.js';
import { requestTarget } from './http/request-target.js';
import { serveStatic } from './http/static-files.js';
import { resumeFromQuery, type ResumeRequest } from '../protocol/stream.js';
import type { SessionRegistry } from './sessions/session-registry.js';
import { SpeechConnection } from './ws/speech-connection.js';
import { StreamConnection } from './ws/stream-connection.js';

/** What shutdown needs of a socket binding. */
interface Connection {
  finish(code: number, reason: string): Promise<void>;
}

const ENDPOINTS = new Set(['/stream', '/speech']);
const TRANSCRIPTIONS_PATH = '/v1/audio/transcriptions';

/** Everything a session needs once the model is loaded; until then the server is alive but not ready. */
export interface StreamRuntime {
  scheduler: TranscriptionScheduler;
  registry: SessionRegistry;
  authenticator: Authenticator;
  ackIntervalMs: number;
  pingIntervalMs: number;
  idleTimeoutMs: number;
  maxSessionMs: number;
  overloadPendingMs: number;
  /** Answers POST /v1/audio/transcriptions. */
  transcribeUpload: (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void>;
  /** Shown on /readyz. */
  describe: () => Record<string, unknown>;
}

const MAX_FRAME_BYTES = msToSamples(MAX_FRAME_MS) * 2;
// Frames over MAX_FRAME_BYTES get a protocol error and are dropped; only absurd ones make ws close the socket (1009).
const MAX_PAYLOAD_BYTES = 1 << 20;
/** Seconds a client refused for load should wait before trying again. */
const RETRY_AFTER_S = 5;

/** The HTTP server: /healthz, /readyz, /stats, /metrics, the demo page, POST /v1/audio/transcriptions, and the /stream and /speech WebSocket upgrades with their authentication. */
export class StreamServer {
  private readonly http: Server;
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_PAYLOAD_BYTES,
    // A browser passing its token as ['bearer', token] needs `bearer` echoed back, or it drops the connection.
    handleProtocols: (protocols) => (protocols.has(BEARER_SUBPROTOCOL) ? BEARER_SUBPROTOCOL : (protocols.values().next().value ?? false)),
  });
  private readonly connections = new Set<Connection>();
  private runtime: StreamRuntime | null = null;
  private nextConnectionId = 1;

  constructor(
    private readonly log: Logger,
    private readonly lag: EventLoopLagMonitor,
    private readonly metrics: ServerMetrics,
  ) {
    this.http = createServer((req, res) => this.route(req, res));
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.upgrade(req, socket, head));
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

  /**
   * Graceful stop: new upgrades get 503 at once, every open session is finalized and its finals sent, then its
   * socket is closed with 1001, and the server stops listening.
   */
  async close(): Promise<void> {
    this.runtime = null;
    await Promise.all([...this.connections].map((connection) => connection.finish(CloseCode.shuttingDown, 'server shutting down')));
    await new Promise<void>((resolve) => {
      this.wss.close(() => this.http.close(() => resolve()));
      this.http.closeAllConnections();
    });
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const target = requestTarget(req);
    if (!target) return json(res, 400, { error: 'bad request target' });
    const path = target.pathname;
    if (path === TRANSCRIPTIONS_PATH) {
      if (req.method !== 'POST') return json(res, 405, { error: 'method not allowed' });
      if (!this.runtime) return json(res, 503, { error: 'not ready' });
      void this.runtime.transcribeUpload(req, res, target.searchParams);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method not allowed' });
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/metrics') {
      void this.metrics.render().then(
        (body) => {
          res.writeHead(200, { 'content-type': this.metrics.contentType, 'cache-control': 'no-store' });
          res.end(body);
        },
        (error: unknown) => {
          this.log.error('rendering metrics failed', { error });
          json(res, 500, { error: 'internal error' });
        },
      );
      return;
    }
    if (path === '/readyz') {
      const lag = this.lag.read();
      if (!this.runtime) return json(res, 503, { status: 'loading', eventLoopLag: lag });
      return json(res, 200, { status: 'ready', ...this.runtime.describe(), sessions: this.wss.clients.size, eventLoopLag: lag });
    }
    if (path === '/stats') {
      if (!this.runtime) return json(res, 503, { error: 'not ready' });
      return json(res, 200, { sessions: this.runtime.registry.stats, connections: this.wss.clients.size, scheduler: this.runtime.scheduler.stats });
    }
    void serveStatic(req, res, path).then(
      (served) => served || json(res, 404, { error: 'not found' }),
      (error: unknown) => {
        this.log.error('serving a file failed', { error });
        json(res, 500, { error: 'internal error' });
      },
    );
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // The client may hang up while we authenticate; that must not become an unhandled 'error'.
    const ignore = (): void => undefined;
    socket.on('error', ignore);
    const target = requestTarget(req);
    if (!target) return refuse(socket, 400, 'Bad Request', { error: 'bad request target' });
    const path = target.pathname;
    if (!ENDPOINTS.has(path)) return refuse(socket, 404, 'Not Found', { error: 'not found' });
    if (!this.runtime) return refuse(socket, 503, 'Service Unavailable', { error: 'not ready' });
    let principal: string;
    try {
      const auth = await this.runtime.authenticator.authenticate(req, target.searchParams);
      if (!auth.ok) return refuse(socket, 401, 'Unauthorized', { error: 'unauthorized', message: auth.reason });
      principal = auth.principal;
    } catch (error) {
      this.log.error('authentication failed', { error });
      return refuse(socket, 500, 'Internal Server Error', { error: 'authentication failed' });
    }
    const runtime = this.runtime;
    if (!runtime) return refuse(socket, 503, 'Service Unavailable', { error: 'shutting down' });
    // /speech sessions are not resumable: its query string carries no resume request.
    const resume = path === '/stream' ? resumeFromQuery(target.searchParams) : null;
    if (resume === 'malformed') {
      return refuse(socket, 400, 'Bad Request', { error: 'bad_request', message: 'resume needs session_id, resume_token and an integer last_seq >= -1' });
    }
    if (!resume && runtime.registry.full) {
      return refuse(socket, 503, 'Service Unavailable', { error: 'too many sessions', retry_after_s: RETRY_AFTER_S }, { 'Retry-After': String(RETRY_AFTER_S) });
    }
    socket.off('error', ignore);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, runtime, principal, path, resume, req));
  }

  private accept(ws: WebSocket, runtime: StreamRuntime, principal: string, path: string, resume: ResumeRequest | null, req: IncomingMessage): void {
    const log = this.log.child({ connection: this.nextConnectionId++ });
    log.info('socket opened', { path, remote: req.socket.remoteAddress, principal, resume: resume !== null });
    const connection = path === '/speech' ? this.speech(ws, runtime, principal, log) : this.stream(ws, runtime, principal, resume, log);
    this.connections.add(connection);
    ws.on('close', () => this.connections.delete(connection));
  }

  private speech(ws: WebSocket, runtime: StreamRuntime, principal: string, log: Logger): Connection {
    return new SpeechConnection(ws, {
      registry: runtime.registry,
      principal,
      maxFrameBytes: MAX_FRAME_BYTES,
      pingIntervalMs: runtime.pingIntervalMs,
      idleTimeoutMs: runtime.idleTimeoutMs,
      maxSessionMs: runtime.maxSessionMs,
      overloadPendingMs: runtime.overloadPendingMs,
      readsPaused: () => this.metrics.readsPaused(),
      log,
    });
  }

  private stream(ws: WebSocket, runtime: StreamRuntime, principal: string, resume: ResumeRequest | null, log: Logger): Connection {
    return new StreamConnection(ws, resume, {
      registry: runtime.registry,
      principal,
      maxFrameBytes: MAX_FRAME_BYTES,
      ackIntervalMs: runtime.ackIntervalMs,
      pingIntervalMs: runtime.pingIntervalMs,
      idleTimeoutMs: runtime.idleTimeoutMs,
      maxSessionMs: runtime.maxSessionMs,
      overloadPendingMs: runtime.overloadPendingMs,
      readsPaused: () => this.metrics.readsPaused(),
      log,
    });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'cache-control': 'no-store' });
  res.end(payload);
}

function refuse(socket: Duplex, status: number, reason: string, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n${extra}\r\n${payload}`,
  );
}
