/**
 * The HTTP routes: /healthz, /readyz, /stats, /metrics, the OpenAI routes (POST /v1/...), AssemblyAI's GET /v3/token,
 * and the demo page. /readyz and /stats answer anyone, so they carry counts and settings, never paths, URLs or
 * credentials.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventLoopLagMonitor } from '../event-loop-lag.js';
import type { Logger } from '../log.js';
import type { ServerMetrics } from '../metrics.js';
import type { OriginPolicy } from './origin-policy.js';
import { requestTarget } from './request-target.js';
import { json, openAiError, refuse } from './respond.js';
import { serveStatic } from './static-files.js';

/** What the routes read once the server is ready. */
export interface RouterRuntime {
  /** Answers POST on an OpenAI route (`/v1/...`). */
  openAi: Map<string, (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void>>;
  /** Answers other vendors' API routes (AssemblyAI's `/v3/token`), whatever the method (each says which it takes). */
  vendorApi: Map<string, (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void>>;
  /** Shown on /readyz. */
  describe: () => Record<string, unknown>;
  /** Shown on /stats. */
  stats: () => Record<string, unknown>;
  /**
   * Why new sessions are refused for now though the server runs (the shared session store does not answer), or null.
   */
  degraded: () => string | null;
}

export class HttpRouter {
  private runtime: RouterRuntime | null = null;

  constructor(
    private readonly log: Logger,
    private readonly lag: EventLoopLagMonitor,
    private readonly metrics: ServerMetrics,
    private readonly origins: OriginPolicy,
    private readonly connections: () => number,
  ) {}

  ready(runtime: RouterRuntime | null): void {
    this.runtime = runtime;
  }

  route(req: IncomingMessage, res: ServerResponse, accepting: boolean): void {
    const target = requestTarget(req);
    if (!target) {
      refuse(res, 400, { error: 'bad request target' });
      return;
    }
    const path = target.pathname;
    const runtime = accepting ? this.runtime : null;
    if (path.startsWith('/v1/')) {
      this.openAi(req, res, path, target.searchParams, runtime);
      return;
    }
    if (path.startsWith('/v3/')) {
      this.vendorApi(req, res, path, target.searchParams, runtime);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      refuse(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
      return;
    }
    if (path === '/healthz') {
      json(res, 200, { status: 'ok' });
      return;
    }
    if (path === '/metrics') {
      this.renderMetrics(res);
      return;
    }
    if (path === '/readyz') {
      const lag = this.lag.read();
      const degraded = runtime?.degraded() ?? null;
      if (!runtime) json(res, 503, { status: 'loading', eventLoopLag: lag });
      else if (degraded)
        json(res, 503, { status: 'degraded', reason: degraded, sessions: this.connections(), eventLoopLag: lag });
      else json(res, 200, { status: 'ready', ...runtime.describe(), sessions: this.connections(), eventLoopLag: lag });
      return;
    }
    if (path === '/stats') {
      if (!runtime) refuse(res, 503, { error: 'not ready' });
      else json(res, 200, { ...runtime.stats(), connections: this.connections() });
      return;
    }
    void serveStatic(req, res, path).then(
      (served) => served || refuse(res, 404, { error: 'not found' }),
      (error: unknown) => {
        this.log.error('serving a file failed', { error });
        refuse(res, 500, { error: 'internal error' });
      },
    );
  }

  private openAi(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: URLSearchParams,
    runtime: RouterRuntime | null,
  ): void {
    const handler = runtime?.openAi.get(path);
    if (runtime && !handler) {
      openAiError(res, 404, 'not_found', `no route ${path.slice(0, 80)}`);
      return;
    }
    if (req.method !== 'POST') {
      openAiError(res, 405, 'method_not_allowed', `${path.slice(0, 80)} takes POST`, null, { allow: 'POST' });
      return;
    }
    // A browser page of another site may not post audio here: it could otherwise use a server on the user's network.
    if (!this.origins.allows(req)) {
      this.metrics.refused('origin');
      openAiError(res, 403, 'forbidden_origin', 'requests from this origin are not allowed (ALLOWED_ORIGINS)');
      return;
    }
    if (!runtime || !handler) {
      openAiError(res, 503, 'not_ready', 'the server is not ready', null, { 'Retry-After': '5' });
      return;
    }
    void handler(req, res, query).catch((error: unknown) => {
      this.log.error('request failed', { error });
      if (!res.headersSent) openAiError(res, 500, 'internal_error', 'the request failed');
    });
  }

  private vendorApi(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: URLSearchParams,
    runtime: RouterRuntime | null,
  ): void {
    const handler = runtime?.vendorApi.get(path);
    if (runtime && !handler) {
      json(res, 404, { error: `no route ${path.slice(0, 80)}` });
      return;
    }
    if (!this.origins.allows(req)) {
      this.metrics.refused('origin');
      json(res, 403, { error: 'requests from this origin are not allowed (ALLOWED_ORIGINS)' });
      return;
    }
    if (!runtime || !handler) {
      json(res, 503, { error: 'the server is not ready' }, { 'Retry-After': '5' });
      return;
    }
    void handler(req, res, query).catch((error: unknown) => {
      this.log.error('request failed', { error });
      if (!res.headersSent) json(res, 500, { error: 'the request failed' });
    });
  }

  private renderMetrics(res: ServerResponse): void {
    void this.metrics.render().then(
      (body) => {
        res.writeHead(200, { 'content-type': this.metrics.contentType, 'cache-control': 'no-store' });
        res.end(body);
      },
      (error: unknown) => {
        this.log.error('rendering metrics failed', { error });
        refuse(res, 500, { error: 'internal error' });
      },
    );
  }
}
