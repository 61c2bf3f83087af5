import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import t from 'tap';
import WebSocket from 'ws';
import { modelsDir, projectRoot } from '../engine/index.js';
import { ConfigError, loadConfig } from '../server/config.js';
import { EventLoopLagMonitor } from '../server/event-loop-lag.js';
import { createLogger } from '../server/log.js';
import { ServerMetrics } from '../server/metrics.js';
import { StreamServer } from '../server/stream-server.js';
import { HttpRouter } from '../server/http/router.js';
import { OriginPolicy } from '../server/http/origin-policy.js';
import { startTestServer } from './helpers/stream-server.js';

t.test('configuration: defaults, environment, flags over environment, validation', async (t) => {
  const defaults = loadConfig([], {});
  t.match(defaults, {
    port: 8080,
    host: '127.0.0.1',
    defaultLanguage: 'en',
    partialIntervalMs: 600,
    endSilenceMs: 400,
    maxUtteranceMs: 15000,
    logLevel: 'info',
  });
  t.equal(
    defaults === 'help' ? undefined : defaults.modelPath,
    undefined,
    'no model path: the embedded default applies',
  );
  t.match(loadConfig([], { PORT: '9000', DEFAULT_LANGUAGE: 'te', POOL_SIZE: '3' }), {
    port: 9000,
    defaultLanguage: 'te',
    poolSize: 3,
  });
  t.match(
    loadConfig(['--port', '9001', '--language=de'], { PORT: '9000', DEFAULT_LANGUAGE: 'te' }),
    { port: 9001, defaultLanguage: 'de' },
    'flags win',
  );
  t.equal(loadConfig(['--help'], {}), 'help');
  t.throws(() => loadConfig([], { PORT: 'eighty' }), ConfigError);
  t.throws(() => loadConfig(['--end-silence-ms', '50'], {}), {
    name: 'ConfigError',
    message: /--end-silence-ms must be an integer from 100/,
  });
  t.throws(() => loadConfig(['--colour'], {}), ConfigError, 'unknown flags are refused');
  t.throws(() => loadConfig([], { LOG_LEVEL: 'loud' }), ConfigError);
});

t.test('before the model is loaded: alive, not ready, streams refused', async (t) => {
  const lag = new EventLoopLagMonitor();
  const log = createLogger('error');
  const serverMetrics = new ServerMetrics();
  const origins = new OriginPolicy([], 'http');
  const router = new HttpRouter(log, lag, serverMetrics, origins, () => 0);
  const server = new StreamServer({
    log,
    metrics: serverMetrics,
    router,
    origins,
    tls: null,
    shutdownTimeoutMs: 1000,
    handOverAtShutdown: false,
  });
  const { port } = await server.listen(0, '127.0.0.1');
  t.teardown(async () => {
    await server.close();
    lag.stop();
  });
  t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  t.equal(ready.status, 503);
  t.match(await ready.json(), { status: 'loading' });
  const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
  t.equal(metrics.status, 200, 'metrics answer while loading');
  t.match(await metrics.text(), /stt_sessions_active\{state="attached"\} 0/);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/stream`);
  const [, response] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
  t.equal(response.statusCode, 503);
});

t.test('health, readiness with event-loop lag, and unknown paths', async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  const health = await fetch(`${app.httpUrl}/healthz`);
  t.equal(health.status, 200);
  t.same(await health.json(), { status: 'ok' });
  const ready = await fetch(`${app.httpUrl}/readyz`);
  t.equal(ready.status, 200);
  const readiness = (await ready.json()) as Record<string, unknown>;
  t.match(readiness, {
    status: 'ready',
    model: { file: 'ggml-tiny.en-synthetic.bin', type: 'tiny', multilingual: false, synthetic: true },
    defaultLanguage: 'en',
    pool: { size: Number, threadsPerTask: Number },
    scheduler: { running: 0, queuedFinals: 0, queuedPartials: 0 },
    sessions: 0,
    eventLoopLag: { p50Ms: Number, p99Ms: Number, maxMs: Number, meanMs: Number },
  });
  t.notMatch(JSON.stringify(readiness), /\//, 'no paths or URLs: /readyz answers anyone');
  t.equal((await fetch(`${app.httpUrl}/nope`)).status, 404);
  t.equal((await fetch(`${app.httpUrl}/healthz`, { method: 'POST' })).status, 405);
  const ws = new WebSocket(`${app.httpUrl.replace('http', 'ws')}/other`);
  const [, response] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
  t.equal(response.statusCode, 404, 'only /stream upgrades');
});

/** Sends one raw HTTP/1.1 request (fetch would normalise the target) and returns the response's status line. */
async function rawStatusLine(port: number, request: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.end(request);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('latin1').split('\r\n')[0] ?? '';
}

t.test('request targets that are no URL get 400, and the server lives on', async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  const port = Number(new URL(app.httpUrl).port);
  for (const target of ['//[', '//a:99999', 'http://[']) {
    t.match(
      await rawStatusLine(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
      /^HTTP\/1\.1 400 /,
      `GET ${target}`,
    );
    const upgrade =
      `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: ` +
      'websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
    t.match(await rawStatusLine(port, upgrade), /^HTTP\/1\.1 400 /, `upgrade to ${target}`);
  }
  t.equal((await fetch(`${app.httpUrl}/healthz`)).status, 200, 'still serving');
});

t.test('npm start serves the embedded default and warns loudly about the synthetic model', async (t) => {
  const realModel = existsSync(join(modelsDir, 'ggml-tiny.en.bin'));
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
  delete env['WHISPER_MODEL'];
  const child = spawn(process.execPath, [join(projectRoot, 'dist/server/main.js')], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Record<string, unknown>[] = [];
  let port = 0;
  for await (const line of createInterface({ input: child.stdout })) {
    const entry = JSON.parse(line) as Record<string, unknown>;
    lines.push(entry);
    if (entry['msg'] === 'listening') port = entry['port'] as number;
    if (entry['msg'] === 'ready') break;
  }
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  t.equal(ready.status, 200, 'ready on the default model');
  const warning = lines.find((l) => l['level'] === 'warn');
  if (realModel) t.notOk(warning, 'the real model needs no warning');
  else
    t.match(
      warning,
      { msg: /SYNTHETIC.*NONSENSE.*npm run models:fetch/ },
      'the synthetic stand-in is announced with the fix',
    );
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number];
  t.equal(code, 0, 'SIGTERM shuts down cleanly');
});
