/** The sessions of this process by id: creation within the limits, resume checks, detached-session quotas, purging. */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { PartialWork, StreamSession } from '../../engine/pipeline/index.js';
import { ProtocolError } from '../../protocol/errors.js';
import type { ResumeRequest } from '../../protocol/stream.js';
import type { Logger } from '../log.js';
import { HostedSession } from './hosted-session.js';
import type { SessionStore } from './session-store.js';

export interface SessionRegistryOptions {
  store: SessionStore;
  resumeTtlMs: number;
  /** Live sessions (with a socket, or not yet given one); detached ones count separately. */
  maxSessions: number;
  /** Sessions waiting to be resumed, in all and per quota key; beyond either, the oldest of them is ended. */
  maxDetached: number;
  maxDetachedPerKey: number;
  /** A fresh pipeline; throws when one cannot be made. */
  newSession: () => StreamSession;
  /** Whether the machine has room for another session now, `live` sessions running (the load controller's verdict). */
  admitting: (live: number) => boolean;
  /** A session ended and its memory is free (see app.ts: memory goes back to the system). */
  released?: () => void;
  log: Logger;
  /** See HostedSessionOptions.latency and .partialWork. */
  latency?: (isFinal: boolean, ms: number) => void;
  partialWork?: (work: PartialWork) => void;
}

export type ResumeOutcome = { ok: true; host: HostedSession } | { ok: false; reason: string };

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
  /** Audio received by every session, ended ones included. */
  audioSamples: number;
}

const tokenHash = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

export class SessionRegistry {
  private readonly hosts = new Map<string, HostedSession>();
  private created = 0;
  private resumed = 0;
  private expired = 0;
  private evicted = 0;
  private purgedSamples = 0;

  constructor(private readonly options: SessionRegistryOptions) {}

  get resumeTtlMs(): number {
    return this.options.resumeTtlMs;
  }

  private get detachedCount(): number {
    let n = 0;
    for (const host of this.hosts.values()) if (host.detachedAt !== null) n++;
    return n;
  }

  /**
   * Why a new session cannot start now, or null: MAX_SESSIONS live ones exist, or the load controller refuses more.
   * Resumes of existing sessions are always fine.
   */
  get refusal(): 'too_many_sessions' | 'overloaded' | null {
    const live = this.hosts.size - this.detachedCount;
    if (live >= this.options.maxSessions) return 'too_many_sessions';
    return this.options.admitting(live) ? null : 'overloaded';
  }

  get stats(): SessionStats {
    const detached = this.detachedCount;
    return { active: this.hosts.size, attached: this.hosts.size - detached, detached };
  }

  get totals(): SessionTotals {
    let audioSamples = this.purgedSamples;
    for (const host of this.hosts.values()) audioSamples += host.session.samplesReceived;
    return { created: this.created, resumed: this.resumed, expired: this.expired, evicted: this.evicted, audioSamples };
  }

  /**
   * A new session, or ProtocolError `too_many_sessions` / `overloaded` when there is no room. The handshake refuses
   * early, but connections it let through (a resume that then failed, /speech sockets that start later) end up here.
   */
  async create(principal: string, quotaKey: string): Promise<{ host: HostedSession; resumeToken: string }> {
    const refusal = this.refusal;
    if (refusal === 'too_many_sessions') {
      throw new ProtocolError('too_many_sessions', `the server already runs its maximum of ${this.options.maxSessions} sessions; try again in a few seconds`);
    }
    if (refusal === 'overloaded') throw new ProtocolError('overloaded', 'the server is at capacity and admits no new sessions right now; try again in a few seconds');
    const id = randomUUID();
    const resumeToken = randomBytes(24).toString('base64url');
    const createdAt = Date.now();
    const session = this.options.newSession();
    const host: HostedSession = new HostedSession({
      id,
      principal,
      quotaKey,
      createdAt,
      session,
      store: this.options.store,
      resumeTtlMs: this.options.resumeTtlMs,
      log: this.options.log,
      latency: this.options.latency,
      partialWork: this.options.partialWork,
      expire: () => {
        this.expired++;
        this.options.log.info('resume window expired', { session: id });
        void this.purge(host);
      },
      detached: () => this.enforceDetachedQuotas(host.quotaKey),
    });
    this.hosts.set(id, host);
    try {
      await this.options.store.create({ id, principal, resumeTokenHash: tokenHash(resumeToken).toString('hex'), createdAt, detachedAt: null });
    } catch (error) {
      this.hosts.delete(id);
      host.dispose();
      throw error;
    }
    this.created++;
    return { host, resumeToken };
  }

  /** The session the request names, if the token is its own, `principal` created it, and `lastSeq` is one it sent. */
  async resume(request: ResumeRequest, principal: string): Promise<ResumeOutcome> {
    const host = this.hosts.get(request.sessionId);
    const record = host && (await this.options.store.get(request.sessionId));
    if (!host || !record || !this.hosts.has(request.sessionId)) {
      return { ok: false, reason: 'no such session: it ended, or its resume window expired' };
    }
    const known = Buffer.from(record.resumeTokenHash, 'hex');
    if (!timingSafeEqual(known, tokenHash(request.resumeToken))) return { ok: false, reason: 'wrong resume token' };
    if (record.principal !== principal) return { ok: false, reason: 'the session belongs to another principal' };
    const newest = host.session.nextSeq - 1;
    // A client claiming transcripts the session never sent would wait for ever for the ones it is missing.
    if (request.lastSeq > newest) return { ok: false, reason: `last_seq ${request.lastSeq} is ahead of the session, whose newest transcript is seq ${newest}` };
    this.resumed++;
    return { ok: true, host };
  }

  /** Ends a session for good: pipeline, queued inference, timers and stored state. */
  async purge(host: HostedSession): Promise<void> {
    if (this.hosts.get(host.id) !== host) return;
    this.hosts.delete(host.id);
    this.purgedSamples += host.session.samplesReceived;
    host.dispose();
    await this.options.store.delete(host.id);
    this.options.released?.();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((host) => this.purge(host)));
  }

  /**
   * Abandoned sessions hold memory for their whole resume window; a client that drops many (or a network that drops
   * everyone's) must not crowd out others. Beyond either quota the oldest detached session is ended early.
   */
  private enforceDetachedQuotas(quotaKey: string): void {
    const detached = [...this.hosts.values()].filter((host) => host.detachedAt !== null).sort((a, b) => (a.detachedAt ?? 0) - (b.detachedAt ?? 0));
    const own = detached.filter((host) => host.quotaKey === quotaKey);
    const evict = (host: HostedSession | undefined): void => {
      if (!host) return;
      this.evicted++;
      this.options.log.info('detached session ended early: quota of sessions awaiting resume', { session: host.id });
      void this.purge(host);
    };
    while (own.length > this.options.maxDetachedPerKey) {
      const oldest = own.shift();
      detached.splice(detached.indexOf(oldest as HostedSession), 1);
      evict(oldest);
    }
    while (detached.length > this.options.maxDetached) evict(detached.shift());
  }
}
