/**
 * The server under attack: `dist/server/main.js` in its own process on a loopback port with the environment a row
 * needs, watched by a Monitor from the moment it is ready, and killed outright when the row ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectRoot } from '../../engine/index.js';
import { Monitor, clock } from './attack-monitor.js';

/** The only interface the bench attacks: everything it opens goes to this host. */
export const LOOPBACK = '127.0.0.1';
/** A second loopback address, for a client that must come from "another address" (Linux routes all of 127/8 to lo). */
export const OTHER_LOOPBACK = '127.0.0.2';

const READY_TIMEOUT_MS = 60_000;
const OUTPUT_LINES = 40;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** clock() when it exited. */
  at: number;
}

/** Refuses any URL whose host is not a loopback address: the bench attacks nothing but its own servers. */
export function loopbackOnly(url: string): string {
  const host = new URL(url).hostname;
  if (!/^127(\.\d{1,3}){3}$/.test(host) && host !== '[::1]' && host !== 'localhost')
    throw new Error(`refusing a non-loopback target: ${url}`);
  return url;
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, LOOPBACK, resolve);
  });
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/** The last lines of the server's stdout and stderr; the pipes must be read or the server stalls on writes. */
class OutputTail {
  private readonly lines: string[] = [];

  follow(child: ChildProcess): void {
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        this.lines.push(...chunk.split('\n').filter((line) => line.trim() !== ''));
        this.lines.splice(0, Math.max(0, this.lines.length - OUTPUT_LINES));
      });
    }
  }

  text(): string {
    return this.lines.join('\n');
  }
}

export class ServerUnderTest {
  readonly http: string;
  private exitInfo: Exit | null = null;
  readonly exited: Promise<Exit>;

  constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    /** The settings this row gave it (beyond LOG_LEVEL=warn and HOST), for the report. */
    readonly env: Record<string, string>,
    private readonly output: OutputTail,
    readonly monitor: Monitor,
    exited: Promise<Exit>,
  ) {
    this.http = loopbackOnly(`http://${LOOPBACK}:${port}`);
    this.exited = exited.then((exit) => (this.exitInfo = exit));
  }

  /** The server's last log lines (warnings and errors only, at LOG_LEVEL=warn), for a row whose server died. */
  outputTail(): string {
    return this.output.text();
  }

  /** ws://127.0.0.1:port/path?query */
  ws(path: string, query: Record<string, string> = {}): string {
    const search = new URLSearchParams(query).toString();
    return loopbackOnly(`ws://${LOOPBACK}:${this.port}${path}${search ? `?${search}` : ''}`);
  }

  get exit(): Exit | null {
    return this.exitInfo;
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.exitInfo) this.child.kill(signal);
  }

  /** SIGKILL: whatever the row left behind must not take seconds to shut down gracefully. */
  async kill(): Promise<void> {
    await this.monitor.stop();
    this.signal('SIGKILL');
    await this.exited;
  }
}

export type Launch = { ready: ServerUnderTest } | { failed: Exit; output: string };

/**
 * What the server inherits from the bench's environment: the system basics and the model choice, and no other
 * setting, so a JWT_SECRET or MAX_SESSIONS exported in the shell cannot change what a row tests.
 */
const INHERITED = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'WHISPER_MODEL', 'VAD_MODEL'];

/**
 * Starts a server with `env` (plus LOG_LEVEL=warn so logging costs the attacked server nothing, and HOST forced to
 * loopback) and waits for /readyz, or for the process to exit, which a row that checks start-up refusals wants to see.
 */
export async function launchServer(env: Record<string, string>, rssCapBytes: number): Promise<Launch> {
  const port = await freePort();
  const inherited = Object.fromEntries(
    INHERITED.flatMap((name) => (process.env[name] === undefined ? [] : [[name, process.env[name]]])),
  );
  const child = spawn(process.execPath, [join(projectRoot, 'dist/server/main.js'), '--port', String(port)], {
    env: { ...inherited, LOG_LEVEL: 'warn', ...env, HOST: LOOPBACK },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = new OutputTail();
  output.follow(child);
  const state: { exit: Exit | null } = { exit: null };
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      state.exit = { code, signal, at: clock() };
      resolve(state.exit);
    });
  });
  const deadline = performance.now() + READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (state.exit) return { failed: state.exit, output: output.text() };
    try {
      const response = await fetch(`http://${LOOPBACK}:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) {
        const monitor = Monitor.start(child.pid ?? -1, port, rssCapBytes);
        return { ready: new ServerUnderTest(child, port, env, output, monitor, exited) };
      }
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  await exited;
  throw new Error(`the server was not ready within ${READY_TIMEOUT_MS / 1000} s:\n${output.text()}`);
}
