import { createServer, connect, type Server, type Socket } from 'node:net';
import { WAIT_MS, within } from '../../bench/lib/wait.js';

/**
 * A TCP relay in front of a server, so a test can cut live connections the way a network drop does: both sides'
 * sockets are destroyed, no WebSocket close frame is sent either way.
 */
export class TcpProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private readonly relayWaiters = new Set<() => void>();
  connections = 0;
  /** Bytes relayed from clients to the server so far. */
  bytesToServer = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      const pair: [Socket, Socket] = [client, upstream];
      proxy?.pairs.add(pair);
      if (proxy) proxy.connections++;
      client.on('data', (data: Buffer) => {
        if (!proxy) return;
        proxy.bytesToServer += data.length;
        for (const wake of proxy.relayWaiters) wake();
      });
      client.pipe(upstream).pipe(client);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        proxy?.pairs.delete(pair);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    proxy = new TcpProxy(server, address.port);
    return proxy;
  }

  /**
   * Resolves once more than `bytes` have been relayed to the server, right after they were handed to its socket
   * and before the server (in this process) can have read them: `cut()` then drops the connection just after them.
   */
  untilToServer(bytes: number, timeoutMs: number = WAIT_MS): Promise<void> {
    const relayed = new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.bytesToServer <= bytes) return;
        this.relayWaiters.delete(check);
        resolve();
      };
      this.relayWaiters.add(check);
      check();
    });
    const what = `more than ${bytes} bytes relayed to the server`;
    return within(relayed, what, timeoutMs, () => `${this.bytesToServer} bytes`);
  }

  /** Stops reading from the server on every relayed connection, as a client that never reads would. */
  stall(): void {
    for (const [, upstream] of this.pairs) upstream.pause();
  }

  /**
   * Stops relaying what clients send on every relayed connection, as a network that fails one way does: the server
   * hears nothing more, while the clients' writes still succeed (they pile up in the relay's socket buffers).
   */
  holdRequests(): void {
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      client.pause();
    }
  }

  /** Destroys every relayed connection at once, as a network outage would. */
  cut(): void {
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
