/**
 * This instance's lease in Redis (a key that lives while the instance renews it) and its channel for release
 * requests: a session whose owner's lease has run out can be taken over without asking anyone.
 */
import type { Logger } from '../log.js';

/** The lease outlives three missed renewals; a crashed instance's sessions wait at most this long to be taken over. */
export const LEASE_MS = 3000;
const RENEW_MS = 1000;

const leaseKey = (instance: string): string => `stt:instance:${instance}`;
const requestChannel = (instance: string): string => `stt:release:${instance}`;

/** What the store uses of a node-redis client. */
export interface RedisConnection {
  readonly isReady: boolean;
  sendCommand<T>(args: ReadonlyArray<string | Buffer>): Promise<T>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
}

export class InstanceLease {
  private timer: NodeJS.Timeout | null = null;
  private handler: (id: string) => Promise<void> = async () => undefined;

  constructor(
    private readonly client: RedisConnection,
    private readonly subscriber: RedisConnection,
    private readonly instance: string,
    private readonly log: Logger,
    /** Runs after each renewal. */
    private readonly tick: () => Promise<void>,
  ) {}

  async start(): Promise<void> {
    await this.client.sendCommand(['SET', leaseKey(this.instance), '1', 'PX', String(LEASE_MS)]);
    await this.subscriber.subscribe(requestChannel(this.instance), (id) => {
      this.handler(id).catch((error: unknown) =>
        this.log.error('session store: releasing a session failed', { session: id, error }),
      );
    });
    this.timer = setInterval(() => void this.renew(), RENEW_MS);
    this.timer.unref();
  }

  onReleaseRequest(handler: (id: string) => Promise<void>): void {
    this.handler = handler;
  }

  async renew(): Promise<void> {
    try {
      await this.client.sendCommand(['SET', leaseKey(this.instance), '1', 'PX', String(LEASE_MS)]);
      await this.tick();
    } catch (error) {
      this.log.debug('session store: lease renewal failed', { error });
    }
  }

  /** How long `instance`'s lease has left; 0 when it has run out. */
  async remainingMs(instance: string): Promise<number> {
    return Math.max(0, await this.client.sendCommand<number>(['PTTL', leaseKey(instance)]));
  }

  async requestRelease(owner: string, id: string): Promise<void> {
    await this.client.sendCommand(['PUBLISH', requestChannel(owner), id]);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      await this.subscriber.unsubscribe(requestChannel(this.instance));
      await this.client.sendCommand(['DEL', leaseKey(this.instance)]);
    } catch (error) {
      this.log.debug('session store: could not drop the lease; it runs out by itself', { error });
    }
  }
}
