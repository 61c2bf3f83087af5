/**
 * The shared session store on Redis (SESSION_STORE=redis://host:port/db). Sessions this instance owns are served from
 * memory (a MemorySessionStore), so they go on when Redis does not answer; Redis holds what another instance needs
 * to take one over, written in one atomic, owner-checked script per checkpoint. docs/DEPLOY.md describes the keys.
 */
import { randomUUID } from 'node:crypto';
import { decode, encode } from '@msgpack/msgpack';
import { createClient, RESP_TYPES } from 'redis';
import type { SessionCheckpoint, TranscriptEvent } from '../../engine/pipeline/index.js';
import type { Logger } from '../log.js';
import { InstanceLease, type RedisConnection } from './instance-lease.js';
import { MemorySessionStore, type SessionRecord } from './session-store.js';
import {
  MAX_MOVES_PER_MINUTE,
  MOVE_WINDOW_MS,
  type PersistOutcome,
  type SharedSessionStore,
  type StoredSession,
  type TakeOver,
} from './shared-session-store.js';

/** How long start-up waits for Redis before giving up with a readable error. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Longest wait between attempts to reach Redis again. */
const MAX_RECONNECT_DELAY_MS = 1000;
/**
 * A checkpoint write that takes longer counts as failed, and the store as unavailable until Redis answers the lease
 * renewal again: a Redis that hangs (rather than drops the connection) holds transcripts back once, not each time.
 */
const WRITE_TIMEOUT_MS = 1000;

const sessionKey = (id: string): string => `stt:session:{${id}}`;
const logKey = (id: string): string => `stt:session:{${id}}:log`;
const releasedChannel = (id: string): string => `stt:released:{${id}}`;

/**
 * KEYS: session hash, log. ARGV: instance, ttl ms, full (1: write the record and replace the log), record, checkpoint,
 * next seq, prune-up-to seq, owner afterwards ('' releases), then seq/event pairs. Returns 1 stored, 0 owned by another
 * instance (or released), -1 gone (Redis lost it, or it expired) while not writing in full.
 */
const PERSIST = `
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner and owner ~= ARGV[1] then return 0 end
if (not owner) and ARGV[3] ~= '1' then return -1 end
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'record', ARGV[4])
end
redis.call('HSET', KEYS[1], 'owner', ARGV[8], 'checkpoint', ARGV[5], 'nextSeq', ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[7])
for i = 9, #ARGV, 2 do redis.call('ZADD', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1`;

/**
 * The moves of a session within the window, by Redis's clock (the instances' may differ): the hash's field `moves`
 * holds their times in ms, comma-separated. ARGV[1] of the scripts that use it: the window in ms.
 */
const RECENT_MOVES = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local recent = {}
for at in string.gmatch(redis.call('HGET', KEYS[1], 'moves') or '', '[^,]+') do
  if now - tonumber(at) < tonumber(ARGV[1]) then table.insert(recent, at) end
end`;

/** KEYS: session hash. ARGV: window ms. How many times the session moved within the window. */
const COUNT_MOVES = `${RECENT_MOVES}
return #recent`;

/**
 * KEYS: session hash. ARGV: window ms, most moves in it, the owner expected, this instance. 1 claimed (a move is
 * counted unless it was this instance's already), 0 someone else holds it, -1 gone, -2 it moved too often.
 */
const CLAIM = `${RECENT_MOVES}
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then return -1 end
if owner == ARGV[4] then return 1 end
if owner ~= ARGV[3] and owner ~= '' then return 0 end
if #recent >= tonumber(ARGV[2]) then return -2 end
table.insert(recent, string.format('%d', now))
redis.call('HSET', KEYS[1], 'owner', ARGV[4], 'moves', table.concat(recent, ','))
return 1`;

/** KEYS: session hash, log. ARGV: this instance. Deletes the session only while this instance owns it. */
const DELETE = `
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then redis.call('DEL', KEYS[1], KEYS[2]) end
return 1`;

/** What Redis does not have yet of a session this instance owns. */
interface Owned {
  /** Logged since the last successful write. */
  pending: TranscriptEvent[];
  /** The next write replaces everything (a new session, or Redis lost it). */
  full: boolean;
  prunedTo: number;
  nextSeq: number;
}

class WriteTimeout extends Error {
  constructor() {
    super(`no answer within ${WRITE_TIMEOUT_MS} ms`);
  }
}

export interface RedisStoreOptions {
  url: string;
  /** Stored sessions expire this long after their last write or refresh. */
  resumeTtlMs: number;
  log: Logger;
}

/** redis://user:password@host:port/db without the credentials, for logs and errors. */
export function redisDisplayUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

export class RedisSessionStore implements SharedSessionStore {
  private readonly local = new MemorySessionStore();
  private readonly owned = new Map<string, Owned>();
  private readonly lease: InstanceLease;
  private availability: () => void = () => undefined;
  /** Whether Redis answered at the last change; null until start-up has connected. */
  private ready: boolean | null = null;
  /** A write timed out, and Redis has not answered since. */
  private stalled = false;

  private constructor(
    private readonly client: RedisConnection,
    private readonly subscriber: RedisConnection,
    /** The client with replies as Buffers: msgpack is binary. */
    private readonly binary: RedisConnection,
    private readonly quit: () => Promise<void>,
    private readonly instance: string,
    private readonly options: RedisStoreOptions,
  ) {
    this.lease = new InstanceLease(client, subscriber, instance, options.log, () => this.refresh());
  }

  /** Connects (waiting up to CONNECT_TIMEOUT_MS), takes the instance lease and listens for release requests. */
  static async connect(options: RedisStoreOptions): Promise<RedisSessionStore> {
    const client = createClient({
      url: options.url,
      // A command while Redis is away fails at once instead of waiting: live sessions must not stall on it.
      disableOfflineQueue: true,
      socket: { reconnectStrategy: (attempt) => Math.min(50 * 2 ** attempt, MAX_RECONNECT_DELAY_MS) },
    });
    const subscriber = client.duplicate();
    const quit = async (): Promise<void> => {
      await Promise.allSettled([client.close(), subscriber.close()]);
    };
    const binary = client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    const store = new RedisSessionStore(client, subscriber, binary, quit, randomUUID(), options);
    let lastError = '';
    for (const c of [client, subscriber]) {
      c.on('error', (error: Error) => {
        if (error.message !== lastError) options.log.warn('session store: redis error', { error: error.message });
        lastError = error.message;
      });
      c.on('ready', () => store.changed());
      c.on('end', () => store.changed());
      c.on('reconnecting', () => store.changed());
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `cannot reach ${redisDisplayUrl(options.url)} ` +
                `within ${CONNECT_TIMEOUT_MS / 1000} s${lastError ? `: ${lastError}` : ''}`,
            ),
          ),
        CONNECT_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([Promise.all([client.connect(), subscriber.connect()]), timeout]);
      await store.lease.start();
      store.ready = true;
    } catch (error) {
      client.destroy();
      subscriber.destroy();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    options.log.info('session store: redis', { url: redisDisplayUrl(options.url), instance: store.instance });
    return store;
  }

  get unavailable(): string | null {
    return this.client.isReady && this.subscriber.isReady && !this.stalled
      ? null
      : `the session store (${redisDisplayUrl(this.options.url)}) does not answer`;
  }

  onAvailability(handler: () => void): void {
    this.availability = handler;
  }

  onReleaseRequest(handler: (id: string) => Promise<void>): void {
    this.lease.onReleaseRequest(async (id) => {
      await handler(id);
      // Whether or not it had the session, this instance no longer writes it; the requester may go on.
      await this.client.sendCommand(['PUBLISH', releasedChannel(id), this.instance]);
    });
  }

  async create(record: SessionRecord): Promise<void> {
    await this.local.create(record);
    this.owned.set(record.id, { pending: [], full: true, prunedTo: -1, nextSeq: 0 });
  }

  get(id: string): Promise<SessionRecord | undefined> {
    return this.local.get(id);
  }

  update(id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<void> {
    return this.local.update(id, patch);
  }

  async append(id: string, event: TranscriptEvent): Promise<void> {
    await this.local.append(id, event);
    const owned = this.owned.get(id);
    if (!owned) return;
    owned.pending.push(event);
    owned.nextSeq = event.seq + 1;
  }

  replay(id: string, afterSeq: number): Promise<TranscriptEvent[]> {
    return this.local.replay(id, afterSeq);
  }

  async prune(id: string, upToSeq: number): Promise<void> {
    await this.local.prune(id, upToSeq);
    const owned = this.owned.get(id);
    if (!owned) return;
    owned.prunedTo = Math.max(owned.prunedTo, upToSeq);
    owned.pending = owned.pending.filter((event) => event.seq > upToSeq);
  }

  async delete(id: string): Promise<void> {
    await this.local.delete(id);
    if (!this.owned.delete(id)) return;
    try {
      await this.client.sendCommand(['EVAL', DELETE, '2', sessionKey(id), logKey(id), this.instance]);
    } catch (error) {
      // It expires with its TTL anyway.
      this.options.log.warn('session store: could not delete a session', { session: id, error });
    }
  }

  count(): Promise<number> {
    return this.local.count();
  }

  persist(id: string, checkpoint: SessionCheckpoint): Promise<PersistOutcome> {
    return this.write(id, checkpoint, this.instance);
  }

  async release(id: string, checkpoint: SessionCheckpoint): Promise<void> {
    const outcome = await this.write(id, checkpoint, '');
    if (outcome === 'unavailable')
      this.options.log.warn(
        'session store: could not hand a session back; it is lost unless this instance is resumed',
        { session: id },
      );
    this.owned.delete(id);
    await this.local.delete(id);
  }

  async peek(id: string): Promise<StoredSession | undefined> {
    const [owner, record, checkpoint, nextSeq] = await this.binary.sendCommand<(Buffer | null)[]>([
      'HMGET',
      sessionKey(id),
      'owner',
      'record',
      'checkpoint',
      'nextSeq',
    ]);
    if (!owner || !record || !checkpoint || !nextSeq) return undefined;
    const log = await this.binary.sendCommand<Buffer[]>(['ZRANGE', logKey(id), '0', '-1']);
    return {
      record: decode(record) as SessionRecord,
      checkpoint: decode(checkpoint) as SessionCheckpoint,
      nextSeq: Number(nextSeq.toString()),
      log: log.map((event) => decode(event) as TranscriptEvent),
    };
  }

  async takeOver(id: string): Promise<TakeOver> {
    const gone: TakeOver = { ok: false, reason: 'no such session: it ended, or its resume window expired' };
    const elsewhere: TakeOver = { ok: false, reason: 'the session was resumed elsewhere at the same moment' };
    const tooOften: TakeOver = {
      ok: false,
      reason:
        `the session moved between instances ${MAX_MOVES_PER_MINUTE} times within a minute; it may move ` +
        'again a minute after the first of them',
    };
    const owner = await this.client.sendCommand<string | null>(['HGET', sessionKey(id), 'owner']);
    if (owner === null) return gone;
    if (owner !== '' && owner !== this.instance) {
      // Checked before the owner is disturbed; the claim checks again, atomically.
      const moves = await this.client.sendCommand<number>([
        'EVAL',
        COUNT_MOVES,
        '1',
        sessionKey(id),
        String(MOVE_WINDOW_MS),
      ]);
      if (moves >= MAX_MOVES_PER_MINUTE) return tooOften;
      await this.askToRelease(id, owner);
    }
    const claimed = await this.client.sendCommand<number>([
      'EVAL',
      CLAIM,
      '1',
      sessionKey(id),
      String(MOVE_WINDOW_MS),
      String(MAX_MOVES_PER_MINUTE),
      owner,
      this.instance,
    ]);
    if (claimed === -2) return tooOften;
    if (claimed !== 1) return claimed === -1 ? gone : elsewhere;
    const stored = await this.peek(id);
    if (!stored) return gone;
    if (this.owned.has(id)) return { ok: true, stored };
    await this.local.create({ ...stored.record, detachedAt: null });
    for (const event of stored.log) await this.local.append(id, event);
    this.owned.set(id, { pending: [], full: false, prunedTo: -1, nextSeq: stored.nextSeq });
    return { ok: true, stored };
  }

  async close(): Promise<void> {
    // Connections closing now are no outage to report.
    this.ready = null;
    await this.lease.stop();
    await this.quit();
  }

  /**
   * Asks the owner to let go and waits for its answer, or for its lease to run out when it does not answer (it
   * crashed, or cannot reach Redis; its writes are refused once the session is claimed, so it cannot undo the claim).
   */
  private async askToRelease(id: string, owner: string): Promise<void> {
    const leaseMs = await this.lease.remainingMs(owner);
    if (leaseMs <= 0) return;
    let answered: () => void = () => undefined;
    const answer = new Promise<void>((resolve) => (answered = resolve));
    const channel = releasedChannel(id);
    await this.subscriber.subscribe(channel, () => answered());
    let timer: NodeJS.Timeout | undefined;
    try {
      await this.lease.requestRelease(owner, id);
      await Promise.race([answer, new Promise<void>((resolve) => (timer = setTimeout(resolve, leaseMs)))]);
    } finally {
      clearTimeout(timer);
      await this.subscriber.unsubscribe(channel).catch(() => undefined);
    }
  }

  private async write(id: string, checkpoint: SessionCheckpoint, ownerAfter: string): Promise<PersistOutcome> {
    const owned = this.owned.get(id);
    const record = await this.local.get(id);
    if (!owned || !record) return 'lost';
    if (this.stalled) return 'unavailable';
    for (let attempt = 0; attempt < 2; attempt++) {
      const full = owned.full;
      const events = full ? await this.local.replay(id, -1) : [...owned.pending];
      const written = owned.pending.length;
      const args: (string | Buffer)[] = [
        'EVAL',
        PERSIST,
        '2',
        sessionKey(id),
        logKey(id),
        this.instance,
        String(this.options.resumeTtlMs),
        full ? '1' : '0',
        Buffer.from(encode({ ...record, detachedAt: null })),
        Buffer.from(encode(checkpoint)),
        String(owned.nextSeq),
        String(owned.prunedTo),
        ownerAfter,
      ];
      for (const event of events) args.push(String(event.seq), Buffer.from(encode(event)));
      let result: number;
      let timer: NodeJS.Timeout | undefined;
      try {
        const late = new Promise<never>(
          (_, reject) => (timer = setTimeout(() => reject(new WriteTimeout()), WRITE_TIMEOUT_MS)),
        );
        result = await Promise.race([this.client.sendCommand<number>(args), late]);
      } catch (error) {
        this.options.log.debug('session store: write failed', { session: id, error });
        if (error instanceof WriteTimeout) this.stall();
        return 'unavailable';
      } finally {
        clearTimeout(timer);
      }
      if (result === 0) return 'lost';
      if (result === 1) {
        owned.pending.splice(0, written);
        owned.full = false;
        return 'stored';
      }
      owned.full = true;
    }
    return 'unavailable';
  }

  private stall(): void {
    if (this.stalled) return;
    this.stalled = true;
    this.changed();
  }

  /**
   * After each lease renewal Redis answered: the store is usable again if a write had timed out, and the sessions
   * this instance owns are kept from expiring while it lives, however quiet they are.
   */
  private async refresh(): Promise<void> {
    if (this.stalled) {
      this.stalled = false;
      this.changed();
    }
    const ttl = String(this.options.resumeTtlMs);
    await Promise.all(
      [...this.owned.keys()].map((id) =>
        Promise.all([
          this.client.sendCommand(['PEXPIRE', sessionKey(id), ttl]),
          this.client.sendCommand(['PEXPIRE', logKey(id), ttl]),
        ]),
      ),
    );
  }

  private changed(): void {
    const ready = this.unavailable === null;
    if (this.ready === null || ready === this.ready) return;
    this.ready = ready;
    this.options.log[ready ? 'info' : 'warn'](
      ready
        ? 'session store: redis answers again'
        : 'session store: redis does not answer; live sessions go on in memory, new /stream sessions are refused',
    );
    if (ready) void this.lease.renew();
    this.availability();
  }
}
