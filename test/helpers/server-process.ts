/** A real server instance as a child process (node dist/server/main.js), as a deployment runs it. */
import { join } from 'node:path';
import type { WaitOptions } from '../../bench/lib/wait.js';
import { projectRoot } from '../../engine/index.js';
import { ChildRun } from './child-process.js';
import { SILERO, TINY_EN } from './engine-fixtures.js';

export type LogEntry = Record<string, unknown> & { msg: string };

const parse = (line: string): LogEntry | null => {
  try {
    const entry = JSON.parse(line) as unknown;
    return typeof entry === 'object' && entry !== null && 'msg' in entry && typeof entry.msg === 'string'
      ? (entry as LogEntry)
      : null;
  } catch {
    return null;
  }
};

export class ServerProcess {
  private constructor(
    readonly run: ChildRun,
    readonly port: number,
  ) {}

  /** Starts an instance on `port` (0: any) with the synthetic model; resolves once it is ready. */
  static async start(port: number, env: Record<string, string>): Promise<ServerProcess> {
    const run = new ChildRun(process.execPath, [join(projectRoot, 'dist/server/main.js')], {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      WHISPER_MODEL: TINY_EN,
      VAD_MODEL: SILERO,
      POOL_SIZE: '1',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      ...env,
    });
    try {
      const listening = parse(
        await run.waitForLine((line) => parse(line)?.msg === 'listening', { what: 'the server to log "listening"' }),
      );
      await run.waitForLine((line) => parse(line)?.msg === 'ready', { what: 'the server to log "ready"' });
      return new ServerProcess(run, Number(listening?.['port']));
    } catch (error) {
      // Nobody else holds it yet to stop it.
      await run.stop('SIGKILL');
      throw error;
    }
  }

  get streamUrl(): string {
    return `ws://127.0.0.1:${this.port}/stream`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The first log entry, past or future, with message `msg` whose fields include `fields`. */
  async logged(msg: string, fields: Record<string, unknown> = {}, options: WaitOptions = {}): Promise<LogEntry> {
    const matches = (entry: LogEntry | null): entry is LogEntry =>
      entry?.msg === msg && Object.entries(fields).every(([key, value]) => entry[key] === value);
    const what = `the log entry ${JSON.stringify({ msg, ...fields })} of the server on port ${this.port}`;
    return parse(await this.run.waitForLine((line) => matches(parse(line)), { what, ...options })) as LogEntry;
  }

  /** How many entries with message `msg` it has logged so far. */
  loggedCount(msg: string): number {
    return this.run.lines.filter((line) => parse(line)?.msg === msg).length;
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    return this.run.stop(signal);
  }
}
