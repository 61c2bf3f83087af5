/**
 * Teardown crash hunt: stops the server, or crashes its workers, while transcriptions are in flight, round after
 * round, and reports whether every round ended cleanly. A native crash ends this process (or the server child) with
 * a signal, which is the finding.
 *
 *   node dist/bench/teardown-loop.js [--rounds 50]
 *
 * The rounds cycle through four ways to end work in flight: closing an in-process server (the adaptive strategy,
 * then the naive one, whose full-context partials run even in silence), crashing its transcription and
 * speech-detection threads and then closing it, and SIGTERM to a server in its own process.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BUNDLED_VAD_MODEL, fixturesDir, modelsDir, projectRoot, readWav16kMono } from '../engine/index.js';
import { startApp } from '../server/app.js';
import { loadConfig, type ServerConfig } from '../server/config.js';
import { createLogger } from '../server/log.js';
import { crashThreads } from '../workers/fault-injection.js';
import { benchArgs } from './lib/bench-args.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { StreamClient } from './lib/raw-stream-client.js';

type Mode = 'close' | 'close-naive' | 'crash-then-close' | 'sigterm';
const MODES: Mode[] = ['close', 'close-naive', 'crash-then-close', 'sigterm'];
const MODEL = join(modelsDir, 'ggml-tiny.en-synthetic.bin');
const SHUTDOWN_TIMEOUT_MS = 3000;
/** Start-up, the first partial and a shutdown past its deadline fit in this on a loaded 2-core machine. */
const ROUND_DEADLINE_MS = 60_000;
const CLIENTS = 2;

const pcm = readWav16kMono(join(fixturesDir, 'speech', 'jfk.wav'));

async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no ${what} within ${ROUND_DEADLINE_MS} ms`)), ROUND_DEADLINE_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Clients streaming speech at 2x until a partial shows that transcriptions run; they keep streaming after. */
async function busyClients(url: string): Promise<StreamClient[]> {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => StreamClient.connect(url)));
  for (const client of clients) void client.stream(pcm, { speed: 2, frameMs: 20 }).catch(() => undefined);
  await within(Promise.race(clients.map((c) => c.waitFor((m) => m['type'] === 'transcript'))), 'first transcript');
  return clients;
}

async function inProcess(mode: Exclude<Mode, 'sigterm'>): Promise<string> {
  const env = {
    PORT: '0',
    HOST: '127.0.0.1',
    WHISPER_MODEL: MODEL,
    VAD_MODEL: BUNDLED_VAD_MODEL,
    LOG_LEVEL: 'error',
    POOL_SIZE: '2',
    THREADS_PER_TASK: '1',
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    STRATEGY: mode === 'close-naive' ? 'naive' : 'adaptive',
  };
  const config = loadConfig([], env) as ServerConfig;
  const app = await within(
    startApp(
      config,
      createLogger(config.logLevel, (line) => process.stderr.write(line)),
    ),
    'server start',
  );
  let clients: StreamClient[] = [];
  let closed = false;
  try {
    clients = await busyClients(app.streamUrl);
    if (mode === 'crash-then-close') {
      await within(crashThreads('transcriber'), 'transcription workers crashed');
      await within(crashThreads('vad'), 'speech-detection thread crashed');
    }
    const started = performance.now();
    await within(app.close(), 'server close');
    closed = true;
    return `closed in ${Math.round(performance.now() - started)} ms`;
  } finally {
    for (const client of clients) client.ws.terminate();
    // A round that failed still ends its server, so the next round does not run beside it.
    if (!closed) await app.close();
  }
}

async function sigterm(): Promise<string> {
  const child = spawn(
    process.execPath,
    [join(projectRoot, 'dist/server/main.js'), '--port', '0', '--model', MODEL, '--pool-size', '2', '--threads', '1'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS), LOG_LEVEL: 'info' },
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let port = 0;
  const ready = (async (): Promise<void> => {
    for await (const line of createInterface({ input: child.stdout })) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (entry['msg'] === 'listening') port = entry['port'] as number;
      if (entry['msg'] === 'ready') return;
    }
    throw new Error('the server exited before it was ready');
  })();
  let clients: StreamClient[] = [];
  let started = 0;
  let ended: { code: number | null; signal: NodeJS.Signals | null };
  try {
    await within(ready, 'server ready');
    child.stdout.resume();
    clients = await busyClients(`ws://127.0.0.1:${port}/stream`);
    started = performance.now();
    child.kill('SIGTERM');
    ended = await within(exited, 'server exit after SIGTERM');
  } finally {
    for (const client of clients) client.ws.terminate();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  const { code, signal } = ended;
  const aborted = /terminate called|Segmentation fault|Aborted|FATAL ERROR/.exec(stderr);
  if (code !== 0 || signal !== null || aborted) {
    throw new Error(
      `the server ended with code ${code}, signal ` +
        `${signal}${aborted ? `, printing "${aborted[0]}"` : ''}\n${stderr.slice(-2000)}`,
    );
  }
  return `exited 0 in ${Math.round(performance.now() - started)} ms`;
}

async function main(): Promise<void> {
  const { values } = benchArgs({ rounds: { type: 'string', default: '50' } });
  const rounds = Number(values.rounds);
  console.error(`machine: ${describeMachine(machineInfo())}; ${rounds} rounds`);
  let failed = 0;
  for (let round = 1; round <= rounds; round++) {
    const mode = MODES[(round - 1) % MODES.length] as Mode;
    try {
      const outcome = mode === 'sigterm' ? await sigterm() : await inProcess(mode);
      console.log(`round ${round} ${mode}: clean, ${outcome}`);
    } catch (error) {
      failed++;
      console.log(`round ${round} ${mode}: FAILED: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  console.log(
    `\n${rounds - failed} of ${rounds} rounds clean (a crash would have ended this process before this line)`,
  );
  process.exitCode = failed === 0 ? 0 : 1;
}

await main();
