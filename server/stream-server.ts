import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  MAX_FRAME_MS,
  StreamSession,
  msToSamples,
  type LanguagePolicy,
  type StreamSettings,
  type TranscriptionScheduler,
} from '../engine/streaming/index.js';
import type { EventLoopLagMonitor } from './event-loop-lag.js';
import type { Logger } from './log.js';
import { StreamConnection } from './stream-connection.js';

/** Everything a session needs once the model is loaded; until then the server is alive but not ready. */
export interface StreamRuntime {
  scheduler: TranscriptionScheduler;
  languages: LanguagePolicy;
  defaultLanguage: string;
  vadModelPath: string;
  settings: StreamSettings;
  /** Shown on /readyz. */
  describe: () => Record<string, unknown>;
}

const MAX_FRAME_BYTES = msToSamples(MAX_FRAME_MS) * 2;
// Frames over MAX_FRAME_BYTES get a protocol error and are dropped; only absurd ones make ws close the socket (1009).
const MAX_PAYLOAD_BYTES = 1 << 20;

/** The HTTP server: /healthz, /readyz, and the /stream WebSocket upgrade. */
export class StreamServer {
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD_BYTES });
  private runtime: StreamRuntime | null = null;
  private nextSessionId = 1;

  constructor(
    private readonly log: Logger,
    private readonly lag: EventLoopLagMonitor,
  ) {
    this.http = createServer((req, res) => this.route(req, res));
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
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

  /** Closes every stream (1001) and stops listening. */
  close(): Promise<void> {
    this.runtime = null;
    for (const client of this.wss.clients) client.close(1001, 'server shutting down');
    return new Promise((resolve) => {
      this.wss.close(() => this.http.close(() => resolve()));
      this.http.closeAllConnections();
    });
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://server').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method not allowed' });
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const lag = this.lag.read();
      if (!this.runtime) return json(res, 503, { status: 'loading', eventLoopLag: lag });
      return json(res, 200, { status: 'ready', ...this.runtime.describe(), sessions: this.wss.clients.size, eventLoopLag: lag });
    }
    json(res, 404, { error: 'not found' });
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://server').pathname;
    if (path !== '/stream') return refuse(socket, 404, 'Not Found');
    const runtime = this.runtime;
    if (!runtime) return refuse(socket, 503, 'Service Unavailable');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, runtime, req));
  }

  private accept(ws: WebSocket, runtime: StreamRuntime, req: IncomingMessage): void {
    const log = this.log.child({ session: this.nextSessionId++ });
    let session: StreamSession;
    try {
      session = new StreamSession({
        scheduler: runtime.scheduler,
        vadModelPath: runtime.vadModelPath,
        languages: runtime.languages,
        defaultLanguage: runtime.defaultLanguage,
        settings: runtime.settings,
      });
    } catch (error) {
      log.error('could not start a session', { error });
      ws.close(1011, 'could not start a session');
      return;
    }
    log.info('stream opened', { remote: req.socket.remoteAddress });
    new StreamConnection(ws, session, { maxFrameBytes: MAX_FRAME_BYTES, log });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'cache-control': 'no-store' });
  res.end(payload);
}

function refuse(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
