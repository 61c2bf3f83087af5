/**
 * Three server instances sharing a real redis-server, behind a real HAProxy running deploy/haproxy.cfg: the
 * deployment docs/DEPLOY.md describes, on ephemeral ports. Everything is stopped in the test's teardown.
 */
import type { Test } from 'tap';
import { freePort } from './free-port.js';
import { HaProxy } from './haproxy.js';
import { RedisServer } from './redis-server.js';
import { ServerProcess } from './server-process.js';

export class Cluster {
  private constructor(
    readonly redis: RedisServer,
    readonly instances: ServerProcess[],
    readonly proxy: HaProxy,
    private readonly env: Record<string, string>,
  ) {}

  static async start(t: Test, env: Record<string, string> = {}): Promise<Cluster> {
    const redis = await RedisServer.start();
    const ports = [await freePort(), await freePort(), await freePort()];
    const withStore = { SESSION_STORE: redis.url, ...env };
    let cluster: Cluster | null = null;
    let instances: ServerProcess[] = [];
    t.teardown(async () => {
      await Promise.all((cluster?.instances ?? instances).map((instance) => instance.stop('SIGKILL')));
      await cluster?.proxy.stop();
      await redis.stop();
    });
    // All three load their model at once; every one that started is stopped even when another did not.
    const starts = await Promise.allSettled(ports.map((port) => ServerProcess.start(port, withStore)));
    instances = starts.flatMap((start) => (start.status === 'fulfilled' ? [start.value] : []));
    const failed = starts.find((start): start is PromiseRejectedResult => start.status === 'rejected');
    if (failed) throw failed.reason;
    const proxy = await HaProxy.start(ports.map((port) => `127.0.0.1:${port}`) as [string, string, string]);
    cluster = new Cluster(redis, instances, proxy, withStore);
    return cluster;
  }

  /** The index of an instance that logged `message` (by default: started) for session `id`, once one has. */
  async holderOf(
    id: string,
    message: 'session started' | 'session taken over from another instance' = 'session started',
  ): Promise<number> {
    // `any`: an instance that exited (killed by the test) rejects, and must not decide.
    return Promise.any(
      this.instances.map((instance, i) => instance.logged(message, { session: id }).then(() => i)),
    ).catch((error: unknown) => {
      const why =
        error instanceof AggregateError
          ? error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('\n')
          : String(error);
      throw new Error(`no instance logged "${message}" for session ${id}:\n${why}`);
    });
  }

  /**
   * Stops instance `i` with SIGTERM (its sessions are handed off) and starts it again on its port; resolves with the
   * stopped one once HAProxy sees the new one up.
   */
  async restart(i: number): Promise<{ exitCode: number | null; loggedCount: (msg: string) => number }> {
    const instance = this.instances[i] as ServerProcess;
    const exitCode = await instance.stop('SIGTERM');
    this.instances[i] = await ServerProcess.start(instance.port, this.env);
    await this.proxy.untilUp(3);
    return { exitCode, loggedCount: (msg) => instance.loggedCount(msg) };
  }
}
