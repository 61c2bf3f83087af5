/**
 * A TCP relay in front of a server, so an attack row can break a client's network the ways networks break: one way
 * only (the client's writes still succeed, the server hears nothing more), or at once (no close frame either way).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { LOOPBACK } from './attack-server.js';

export class TcpRelay {
  private readonly pairs = new Set<[Socket, Socket]>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpRelay> {
    let relay: TcpRelay | null = null;
    const server = createServer((client) => {
      const upstream = connect(targetPort, LOOPBACK);
      const pair: [Socket, Socket] = [client, upstream];
      relay?.pairs.add(pair);
      client.pipe(upstream).pipe(client);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        relay?.pairs.delete(pair);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the relay has no port');
    relay = new TcpRelay(server, address.port);
    return relay;
  }

  /** Stops passing on what clients send: the server hears nothing more, the clients' writes still succeed. */
  holdRequests(): void {
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      client.pause();
    }
  }

  /** Stops reading what the server sends, as a client that never reads would. */
  holdResponses(): void {
    for (const [, upstream] of this.pairs) upstream.pause();
  }

  /** Destroys every relayed connection at once. */
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
