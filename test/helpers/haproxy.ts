/**
 * A real HAProxy (Debian's) running deploy/haproxy.cfg, the configuration docs/DEPLOY.md gives, in front of instances.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WAIT_MS, WaitTimeout } from '../../bench/lib/wait.js';
import { projectRoot } from '../../engine/index.js';
import { ChildRun } from './child-process.js';
import { freePort } from './free-port.js';
import { programPath } from './system-programs.js';

export const HAPROXY_CONFIG = join(projectRoot, 'deploy/haproxy.cfg');
/** Debian's binary; /usr/sbin is not on every user's PATH. Tests that need it skip with needs('haproxy'). */
export const HAPROXY = programPath('haproxy') ?? 'haproxy';
/** `inter` of the configuration's health checks. */
const CHECK_INTERVAL_MS = 1000;

export class HaProxy {
  private constructor(
    private readonly run: ChildRun,
    private readonly dir: string,
    readonly port: number,
  ) {}

  /** Listens on a free port and balances over the three `backends` (host:port). */
  static async start(backends: [string, string, string]): Promise<HaProxy> {
    const dir = await mkdtemp(join(tmpdir(), 'haproxy-'));
    const port = await freePort();
    // The test's own addition: an admin socket, so it can wait for HAProxy to see the instances up.
    await writeFile(join(dir, 'admin.cfg'), `global\n    stats socket ${join(dir, 'admin.sock')} level admin\n`);
    const run = new ChildRun(HAPROXY, ['-db', '-f', HAPROXY_CONFIG, '-f', join(dir, 'admin.cfg')], {
      ...process.env,
      STT_LISTEN: `127.0.0.1:${port}`,
      STT_S1: backends[0],
      STT_S2: backends[1],
      STT_S3: backends[2],
    });
    const proxy = new HaProxy(run, dir, port);
    try {
      await proxy.untilUp(3);
    } catch (error) {
      await proxy.stop();
      throw error;
    }
    return proxy;
  }

  get streamUrl(): string {
    return `ws://127.0.0.1:${this.port}/stream`;
  }

  /**
   * Resolves once at least `count` servers pass their health check. HAProxy reports each server state change on
   * stderr; its admin socket is asked again after each report, or after a health-check interval at most.
   */
  async untilUp(count: number, timeoutMs: number = WAIT_MS): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (let up = await this.serversUp(); up < count; up = await this.serversUp()) {
      if (!this.run.running) throw new Error(`haproxy exited:\n${this.run.lines.join('\n')}`);
      if (performance.now() >= deadline) {
        throw new WaitTimeout(
          `gave up after ${timeoutMs} ms waiting for ${count} servers up in haproxy; saw ${up}, and its ` +
            `output:\n${this.run.lines.slice(-20).join('\n')}`,
        );
      }
      const seen = this.run.lines.length;
      // No line within an interval is no failure: the loop asks the admin socket again.
      await this.run
        .waitForLine(() => this.run.lines.length > seen, { timeoutMs: CHECK_INTERVAL_MS })
        .catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    await this.run.stop('SIGTERM');
    await rm(this.dir, { recursive: true, force: true });
  }

  private async serversUp(): Promise<number> {
    const stat = await this.command('show stat').catch(() => '');
    return stat
      .split('\n')
      .filter((line) => line.startsWith('whisper_stream,s') && line.split(',')[17]?.startsWith('UP')).length;
  }

  private command(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(join(this.dir, 'admin.sock'));
      let out = '';
      socket.on('connect', () => socket.end(`${command}\n`));
      socket.on('data', (data) => (out += data.toString()));
      socket.on('end', () => resolve(out));
      socket.on('error', reject);
    });
  }
}
