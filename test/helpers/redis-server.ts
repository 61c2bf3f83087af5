/**
 * A real redis-server (Debian's) on a free port, without persistence: stopping it loses everything, as a crash would.
 */
import { ChildRun } from './child-process.js';
import { freePort } from './free-port.js';
import { programPath } from './system-programs.js';

export class RedisServer {
  private run: ChildRun | null = null;

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const redis = new RedisServer(await freePort());
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  /** Starts it (again, on the same port) and resolves once it accepts connections. */
  async restart(): Promise<void> {
    const run = new ChildRun(
      programPath('redis-server') ?? 'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      process.env,
    );
    this.run = run;
    try {
      await run.waitForLine((line) => line.includes('Ready to accept connections'), {
        what: 'redis-server to accept connections',
      });
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Freezes it (SIGSTOP): connections stay open and nothing answers, as when Redis hangs. */
  freeze(): void {
    this.run?.signal('SIGSTOP');
  }

  thaw(): void {
    this.run?.signal('SIGCONT');
  }

  async stop(): Promise<void> {
    this.thaw();
    await this.run?.stop('SIGKILL');
    this.run = null;
  }
}
