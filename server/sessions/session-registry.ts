import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { StreamSession } from '../../engine/pipeline/index.js';
import type { Logger } from '../log.js';
import { ProtocolError, type ResumeRequest } from '../../protocol/stream.js';
import { HostedSession } from './hosted-session.js';
import type { SessionStore } from './session-store.js';

export interface SessionRegistryOptions {
  store: SessionStore;
  resumeTtlMs: number;
  maxSessions: number;
  /** A fresh pipeline; throws when one cannot be made. */
  newSession: () => StreamSession;
  log: Logger;
  /** See HostedSessionOptions.latency. */
  latency?: (isFinal: boolean, ms: number) => void;
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
  /** Audio received by every session, ended ones included. */
  audioSamples: number;
}

const tokenHash = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** The live sessions of this process by id: creation, resume checks, and purging. */
export class SessionRegistry {
  private readonly hosts = new Map<string, HostedSession>();
  private created = 0;
  private resumed = 0;
  private expired = 0;
  private purgedSamples = 0;

  constructor(private readonly options: SessionRegistryOptions) {}

  get resumeTtlMs(): number {
    return this.options.resumeTtlMs;
  }

  /** No room for another session; resumes of existing ones are still fine. */
  get full(): boolean {
    return this.hosts.size >= this.options.maxSessions;
  }

  get stats(): SessionStats {
    let attached = 0;
    for (const host of this.hosts.values()) if (host.attached) attached++;
    return { active: this.hosts.size, attached, detached: this.hosts.size - attached };
  }

  get totals(): SessionTotals {
    let audioSamples = this.purgedSamples;
    for (const host of this.hosts.values()) audioSamples += host.session.samplesReceived;
    return { created: this.created, resumed: this.resumed, expired: this.expired, audioSamples };
  }

  /**
   * A new session, or ProtocolError `too_many_sessions` when MAX_SESSIONS exist. The handshake refuses early when
   * full, but connections it let through (a resume that then failed, /speech sockets that start later) end up here.
   */
  async create(principal: string): Promise<{ host: HostedSession; resumeToken: string }> {
    if (this.full) {
      throw new ProtocolError('too_many_sessions', `the server already runs its maximum of ${this.options.maxSessions} sessions; try again in a few seconds`);
    }
    const id = randomUUID();
    const resumeToken = randomBytes(24).toString('base64url');
    const createdAt = Date.now();
    const session = this.options.newSession();
    const host = new HostedSession({
      id,
      principal,
      createdAt,
      session,
      store: this.options.store,
      resumeTtlMs: this.options.resumeTtlMs,
      log: this.options.log,
      latency: this.options.latency,
      expire: () => {
        this.expired++;
        this.options.log.info('resume window expired', { session: id });
        void this.purge(host);
      },
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

  /** The session the request names, if the token is its own and `principal` created it. */
  async resume(request: ResumeRequest, principal: string): Promise<ResumeOutcome> {
    const host = this.hosts.get(request.sessionId);
    const record = host && (await this.options.store.get(request.sessionId));
    if (!host || !record || !this.hosts.has(request.sessionId)) {
      return { ok: false, reason: 'no such session: it ended, or its resume window expired' };
    }
    const known = Buffer.from(record.resumeTokenHash, 'hex');
    if (!timingSafeEqual(known, tokenHash(request.resumeToken))) return { ok: false, reason: 'wrong resume token' };
    if (record.principal !== principal) return { ok: false, reason: 'the session belongs to another principal' };
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
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((host) => this.purge(host)));
  }
}
