/**
 * The sessions of this process by id: creation within the limits, resume checks, detached-session quotas, purging;
 * with a shared store also taking sessions over from other instances and handing them back. Connections whose
 * protocol has no resume use a view of it (withoutResume) whose sessions never touch the shared store.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  SessionError,
  type PartialWork,
  type SessionCheckpoint,
  type StreamSession,
} from '../../engine/pipeline/index.js';
import { ProtocolError } from '../../protocol/errors.js';
import type { ResumeRequest } from '../../protocol/stream.js';
import type { Logger } from '../log.js';
import { HostedSession } from './hosted-session.js';
import { FAILED_RESUMES_PER_MINUTE, ResumeThrottle } from './resume-throttle.js';
import { MemorySessionStore, type SessionRecord, type SessionStore } from './session-store.js';
import type { SharedSessionStore } from './shared-session-store.js';

export interface SessionRegistryOptions {
  store: SessionStore;
  /** The same store when other instances share it (SESSION_STORE), else null. */
  shared: SharedSessionStore | null;
  resumeTtlMs: number;
  /** Live sessions (with a socket, or not yet given one); detached ones count separately. */
  maxSessions: number;
  /** Sessions waiting to be resumed, in all and per quota key; beyond either, the oldest of them is ended. */
  maxDetached: number;
  maxDetachedPerKey: number;
  /** A fresh pipeline, or one carrying on from a checkpoint; throws when one cannot be made. */
  newSession: (restore?: { checkpoint: SessionCheckpoint; nextSeq: number }) => StreamSession;
  /** Whether the machine has room for another session now, `live` sessions running (the load controller's verdict). */
  admitting: (live: number) => boolean;
  /** A session ended and its memory is free (see app.ts: memory goes back to the system). */
  released?: () => void;
  log: Logger;
  /** See HostedSessionOptions.latency and .partialWork. */
  latency?: (isFinal: boolean, ms: number) => void;
  partialWork?: (work: PartialWork) => void;
  /** How long each write of a checkpoint to the shared store took. */
  persisted?: (ms: number) => void;
}

/**
 * `clientFault`: the client asked for something it cannot have (no such session, a wrong token): see ResumeThrottle.
 */
export type ResumeOutcome = { ok: true; host: HostedSession } | { ok: false; reason: string; clientFault?: boolean };

export interface SessionStats {
  active: number;
  attached: number;
  detached: number;
}

/** Counts since the registry was made. */
export interface SessionTotals {
  created: number;
  resumed: number;
  expired: number;
  /** Detached sessions ended early to keep within MAX_DETACHED_SESSIONS or MAX_DETACHED_PER_PRINCIPAL. */
  evicted: number;
  /** Resumes of sessions another instance held (shared store only). */
  takenOver: number;
  /** Sessions handed to other instances: asked for by one, or at shutdown. */
  handedOff: number;
  /** Audio received by every session, ended ones included. */
  audioSamples: number;
}

const tokenHash = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

const storeUnavailable = (): ProtocolError =>
  new ProtocolError(
    'store_unavailable',
    'the session store does not answer, so no session could be resumed after a drop; try again in a few seconds',
  );

const clientFault = (reason: string): ResumeOutcome => ({ ok: false, reason, clientFault: true });
const noSuchSession = (): ResumeOutcome => clientFault('no such session: it ended, or its resume window expired');

/** Why the request may not resume the session `record` describes, whose next transcript gets `nextSeq`; or null. */
function refuseResume(
  record: SessionRecord,
  request: ResumeRequest,
  principal: string,
  nextSeq: number,
): ResumeOutcome | null {
  const known = Buffer.from(record.resumeTokenHash, 'hex');
  if (!timingSafeEqual(known, tokenHash(request.resumeToken))) return clientFault('wrong resume token');
  if (record.principal !== principal) return clientFault('the session belongs to another principal');
  const newest = nextSeq - 1;
  // A client claiming transcripts the session never sent would wait for ever for the ones it is missing.
  if (request.lastSeq > newest)
    return clientFault(`last_seq ${request.lastSeq} is ahead of the session, whose newest transcript is seq ${newest}`);
  return null;
}

/** What a registry and its view for protocols without resume share: the sessions and the counts. */
interface RegistryState {
  hosts: Map<string, HostedSession>;
  /** Sessions kept in this process only (protocols without resume, with a shared store), by id. */
  local: Set<string>;
  /** Their transcript logs. */
  localStore: MemorySessionStore;
  throttle: ResumeThrottle;
  counts: Omit<SessionTotals, 'audioSamples'> & { purgedSamples: number };
}

export class SessionRegistry {
  private readonly state: RegistryState;
  /** False in the view for protocols without resume (see withoutResume). */
  private readonly resumable: boolean;
  private view: SessionRegistry | null = null;

  /** `base`: only withoutResume() passes it, to make a view over the base's sessions. */
  constructor(
    private readonly options: SessionRegistryOptions,
    base?: SessionRegistry,
  ) {
    this.resumable = base === undefined;
    this.state = base?.state ?? {
      hosts: new Map(),
      local: new Set(),
      localStore: new MemorySessionStore(),
      throttle: new ResumeThrottle(),
      counts: { created: 0, resumed: 0, expired: 0, evicted: 0, takenOver: 0, handedOff: 0, purgedSamples: 0 },
    };
    const shared = options.shared;
    if (!shared || base) return;
    shared.onReleaseRequest(async (id) => {
      const host = this.hosts.get(id);
      if (host) await this.release(host, true);
    });
    // Redis may have come back empty: every session is written again at once, not only at its next transcript.
    shared.onAvailability(() => {
      if (shared.unavailable) return;
      const hosts = [...this.hosts.values()].filter((host) => !this.state.local.has(host.id));
      void Promise.all(hosts.map((host) => host.checkpointNow())).then(() =>
        options.log.info('session store: sessions written again', { sessions: hosts.length }),
      );
    });
  }

  get resumeTtlMs(): number {
    return this.options.resumeTtlMs;
  }

  /**
   * The registry for connections whose protocol has no resume: the same sessions and limits, but its sessions are
   * kept in this process only, never written to the shared store, so they start and run while it is down.
   */
  withoutResume(): SessionRegistry {
    if (!this.resumable) return this;
    this.view ??= new SessionRegistry(this.options, this);
    return this.view;
  }

  private get hosts(): Map<string, HostedSession> {
    return this.state.hosts;
  }

  /** Whether `host`'s state lives in this process only. */
  private isLocal(host: HostedSession): boolean {
    return this.state.local.has(host.id);
  }

  private storeOf(host: HostedSession): SessionStore {
    return this.isLocal(host) ? this.state.localStore : this.options.store;
  }

  private get detachedCount(): number {
    let n = 0;
    for (const host of this.hosts.values()) if (host.detachedAt !== null) n++;
    return n;
  }

  /**
   * Why a new session cannot start now, or null: the shared store does not answer, MAX_SESSIONS live ones exist, or
   * the load controller refuses more.
   * Resumes of existing sessions are always fine, and sessions of protocols without resume need no store.
   */
  get refusal(): 'too_many_sessions' | 'overloaded' | 'store_unavailable' | null {
    // A resumable session that could not be resumed anywhere else is not worth starting.
    if (this.resumable && this.options.shared?.unavailable) return 'store_unavailable';
    const live = this.hosts.size - this.detachedCount;
    if (live >= this.options.maxSessions) return 'too_many_sessions';
    return this.options.admitting(live) ? null : 'overloaded';
  }

  get stats(): SessionStats {
    const detached = this.detachedCount;
    return { active: this.hosts.size, attached: this.hosts.size - detached, detached };
  }

  get totals(): SessionTotals {
    const { purgedSamples, ...counts } = this.state.counts;
    let audioSamples = purgedSamples;
    for (const host of this.hosts.values()) audioSamples += host.samplesReceivedHere;
    return { ...counts, audioSamples };
  }

  /**
   * A new session, or ProtocolError `too_many_sessions` / `overloaded` when there is no room (`store_unavailable`
   * when the shared store does not answer). The handshake refuses
   * early, but connections it let through (a resume that then failed, /speech sockets that start later) end up here.
   */
  async create(principal: string, quotaKey: string): Promise<{ host: HostedSession; resumeToken: string }> {
    const refusal = this.refusal;
    if (refusal === 'too_many_sessions') {
      throw new ProtocolError(
        'too_many_sessions',
        `the server already runs its maximum of ${this.options.maxSessions} sessions; try again in a few seconds`,
      );
    }
    if (refusal === 'overloaded')
      throw new ProtocolError(
        'overloaded',
        'the server is at capacity and admits no new sessions right now; try again in a few seconds',
      );
    if (refusal === 'store_unavailable') throw storeUnavailable();
    const id = randomUUID();
    const resumeToken = randomBytes(24).toString('base64url');
    const createdAt = Date.now();
    const shared = this.resumable ? this.options.shared : null;
    if (!shared && this.options.shared) this.state.local.add(id);
    const host = this.host(id, principal, quotaKey, createdAt, this.options.newSession());
    this.hosts.set(id, host);
    const store = this.storeOf(host);
    try {
      await store.create({
        id,
        principal,
        resumeTokenHash: tokenHash(resumeToken).toString('hex'),
        createdAt,
        detachedAt: null,
      });
      // The session exists for other instances only once it is stored; one that could not be is refused.
      if (shared && (await shared.persist(id, host.session.checkpoint())) !== 'stored') throw storeUnavailable();
    } catch (error) {
      this.hosts.delete(id);
      this.state.local.delete(id);
      host.dispose();
      if (this.options.shared) await store.delete(id);
      throw error;
    }
    this.state.counts.created++;
    return { host, resumeToken };
  }

  /** A hosted session; kept in this process only when its id is in `state.local`. */
  private host(
    id: string,
    principal: string,
    quotaKey: string,
    createdAt: number,
    session: StreamSession,
    durableSamples?: number,
  ): HostedSession {
    const local = this.state.local.has(id);
    const shared = local ? null : this.options.shared;
    const host: HostedSession = new HostedSession({
      id,
      principal,
      quotaKey,
      createdAt,
      session,
      store: local ? this.state.localStore : this.options.store,
      resumeTtlMs: this.options.resumeTtlMs,
      log: this.options.log,
      latency: this.options.latency,
      partialWork: this.options.partialWork,
      expire: () => {
        this.state.counts.expired++;
        this.options.log.info('resume window expired', { session: id });
        void this.purge(host);
      },
      detached: () => this.enforceDetachedQuotas(host.quotaKey),
      ...(shared
        ? { shared: { store: shared, lost: () => this.lose(host), persisted: this.options.persisted }, durableSamples }
        : {}),
    });
    return host;
  }

  /**
   * The session the request names, if the token is its own, `principal` created it, and `lastSeq` is one it sent.
   * With a shared store, a session this instance does not hold is taken over from the one that does.
   */
  async resume(request: ResumeRequest, principal: string, quotaKey: string): Promise<ResumeOutcome> {
    const waitS = this.resumeWaitS(quotaKey);
    if (waitS > 0)
      return {
        ok: false,
        reason: `${FAILED_RESUMES_PER_MINUTE} failed resumes from this client within a minute; try again in ${waitS} s`,
      };
    const outcome = await this.findForResume(request, principal, quotaKey);
    if (!outcome.ok && outcome.clientFault) this.state.throttle.failed(quotaKey);
    return outcome;
  }

  /** Seconds until a client with `quotaKey` may try a resume again, after too many failed ones; 0 while it may. */
  resumeWaitS(quotaKey: string): number {
    return this.state.throttle.waitS(quotaKey);
  }

  private async findForResume(request: ResumeRequest, principal: string, quotaKey: string): Promise<ResumeOutcome> {
    const host = this.hosts.get(request.sessionId);
    if (!host && this.options.shared) return this.takeOver(this.options.shared, request, principal, quotaKey);
    const record = host && !this.isLocal(host) ? await this.options.store.get(request.sessionId) : undefined;
    if (!host || !record || !this.hosts.has(request.sessionId)) return noSuchSession();
    const refused = refuseResume(record, request, principal, host.session.nextSeq);
    if (refused) return refused;
    this.state.counts.resumed++;
    return { ok: true, host };
  }

  private async takeOver(
    shared: SharedSessionStore,
    request: ResumeRequest,
    principal: string,
    quotaKey: string,
  ): Promise<ResumeOutcome> {
    const id = request.sessionId;
    try {
      // Checked before the owner is disturbed: a stolen or wrong token must not take a session from its client.
      const stored = await shared.peek(id);
      if (!stored) return noSuchSession();
      const refused = refuseResume(stored.record, request, principal, stored.nextSeq);
      if (refused) return refused;
      const taken = await shared.takeOver(id);
      if (!taken.ok) return taken;
      if (this.hosts.has(id)) return this.findForResume(request, principal, quotaKey);
      const { checkpoint, nextSeq, record } = taken.stored;
      let session: StreamSession;
      try {
        session = this.options.newSession({ checkpoint, nextSeq });
      } catch (error) {
        // Left as it was for an instance that can carry it on (one whose model serves its language, say).
        await shared.release(id, checkpoint);
        throw error;
      }
      const host = this.host(id, principal, quotaKey, record.createdAt, session, checkpoint.audioSample);
      this.hosts.set(id, host);
      this.state.counts.resumed++;
      this.state.counts.takenOver++;
      this.options.log.info('session taken over from another instance', {
        session: id,
        audioMs: Math.floor(checkpoint.audioSample / 16),
        nextSeq,
      });
      return { ok: true, host };
    } catch (error) {
      this.options.log.warn('taking a session over failed', { session: id, error });
      const reason =
        error instanceof SessionError
          ? `this instance cannot carry it on: ${error.message}`
          : (shared.unavailable ?? 'the session store failed');
      return { ok: false, reason };
    }
  }

  /**
   * Hands the session to the shared store for another instance: its last checkpoint is written and it is ended
   * here without a final. `tellSink`: its socket is closed as replaced (another instance asked for it).
   */
  async release(host: HostedSession, tellSink: boolean): Promise<void> {
    const shared = this.options.shared;
    if (!shared || this.hosts.get(host.id) !== host) return;
    // Nobody else could carry it on.
    if (this.isLocal(host)) return this.purge(host);
    this.hosts.delete(host.id);
    this.state.counts.purgedSamples += host.samplesReceivedHere;
    this.state.counts.handedOff++;
    const checkpoint = await host.handOff(tellSink);
    await shared.release(host.id, checkpoint);
    this.options.log.info('session handed off', { session: host.id, audioMs: Math.floor(checkpoint.audioSample / 16) });
    this.options.released?.();
  }

  /** Another instance took the session while this one did not know (it had not answered in time): it ends here. */
  private lose(host: HostedSession): void {
    if (this.hosts.get(host.id) !== host) return;
    this.options.log.warn('another instance took over the session', { session: host.id });
    this.hosts.delete(host.id);
    this.state.counts.purgedSamples += host.samplesReceivedHere;
    void host.handOff(true).then(() => this.options.store.delete(host.id));
  }

  /** Ends a session for good: pipeline, queued inference, timers and stored state. */
  async purge(host: HostedSession): Promise<void> {
    if (this.hosts.get(host.id) !== host) return;
    const store = this.storeOf(host);
    this.hosts.delete(host.id);
    this.state.local.delete(host.id);
    this.state.counts.purgedSamples += host.samplesReceivedHere;
    host.dispose();
    await store.delete(host.id);
    this.options.released?.();
  }

  /** At shutdown: every session ends, or with a shared store is handed off to be resumed elsewhere. */
  async closeAll(): Promise<void> {
    await Promise.all(
      [...this.hosts.values()].map((host) => (this.options.shared ? this.release(host, false) : this.purge(host))),
    );
  }

  /**
   * Abandoned sessions hold memory for their whole resume window; a client that drops many (or a network that drops
   * everyone's) must not crowd out others. Beyond its own quota a client's oldest detached session is ended early.
   * Beyond the global one, the session ended is the oldest of the client holding the most (of clients holding as many,
   * the oldest of theirs): a client dropping many sessions, from many addresses too, pushes out its own first, and
   * another client's only detached session goes only once every client is down to one.
   */
  private enforceDetachedQuotas(quotaKey: string): void {
    const byKey = new Map<string, HostedSession[]>();
    for (const host of this.hosts.values()) {
      if (host.detachedAt === null) continue;
      const own = byKey.get(host.quotaKey) ?? [];
      own.push(host);
      byKey.set(host.quotaKey, own);
    }
    for (const own of byKey.values()) own.sort((a, b) => (a.detachedAt ?? 0) - (b.detachedAt ?? 0));
    const evict = (own: HostedSession[]): void => {
      const host = own.shift();
      if (!host) return;
      this.state.counts.evicted++;
      this.options.log.info('detached session ended early: quota of sessions awaiting resume', { session: host.id });
      void this.purge(host);
    };
    const own = byKey.get(quotaKey) ?? [];
    while (own.length > this.options.maxDetachedPerKey) evict(own);
    let detached = [...byKey.values()].reduce((n, sessions) => n + sessions.length, 0);
    for (; detached > this.options.maxDetached; detached--) {
      const oldest = (sessions: HostedSession[]): number => sessions[0]?.detachedAt ?? Number.POSITIVE_INFINITY;
      const heaviest = [...byKey.values()].reduce((a, b) =>
        b.length > a.length || (b.length === a.length && oldest(b) < oldest(a)) ? b : a,
      );
      evict(heaviest);
    }
  }
}
