/**
 * A session store several server instances share (SESSION_STORE): besides what SessionStore keeps, each session's
 * checkpoint and the instance that owns it, so any instance can take a session over and carry it on.
 */
import type { SessionCheckpoint, TranscriptEvent } from '../../engine/pipeline/index.js';
import type { SessionRecord, SessionStore } from './session-store.js';

/** What another instance needs to carry a session on. */
export interface StoredSession {
  record: SessionRecord;
  checkpoint: SessionCheckpoint;
  /** The seq the next transcript gets. */
  nextSeq: number;
  /** Logged transcripts the client has not confirmed, oldest first. */
  log: TranscriptEvent[];
}

/**
 * Times one session may move between instances (takeovers, claims after a hand-off) in any minute: a client that
 * resumes after every drop through a balancer moves it now and then, while each move costs both instances a
 * hand-off and the new one a restart of the unfinished utterance.
 */
export const MAX_MOVES_PER_MINUTE = 10;
export const MOVE_WINDOW_MS = 60_000;

/** A takeover: the state to restore, or why the session stays where it is. */
export type TakeOver = { ok: true; stored: StoredSession } | { ok: false; reason: string };

/** `lost`: another instance owns the session now, and this one must let it go. */
export type PersistOutcome = 'stored' | 'unavailable' | 'lost';

export interface SharedSessionStore extends SessionStore {
  /** Why the shared store cannot be used now (it does not answer), or null while it can. */
  readonly unavailable: string | null;
  /**
   * Writes the checkpoint together with the transcripts logged since the last write, in one atomic step: once it is
   * `stored`, a session restored anywhere starts from there and has all of them.
   */
  persist(id: string, checkpoint: SessionCheckpoint): Promise<PersistOutcome>;
  /** The stored session, read only (to check a resume before disturbing its owner); undefined when there is none. */
  peek(id: string): Promise<StoredSession | undefined>;
  /**
   * Makes this instance the session's owner: its owner is asked to let go and waited for, unless its lease has run
   * out (it crashed). Refused, without disturbing the owner, when the session has already moved between instances
   * MAX_MOVES_PER_MINUTE times in the last minute, and when another instance claimed it first.
   */
  takeOver(id: string): Promise<TakeOver>;
  /** Writes the last checkpoint and leaves the session ownerless for another instance to take; forgets it here. */
  release(id: string, checkpoint: SessionCheckpoint): Promise<void>;
  /** `handler` lets go of a session another instance asked for (see release); the store then tells that instance. */
  onReleaseRequest(handler: (id: string) => Promise<void>): void;
  /** Called when the store becomes usable again or stops being usable. */
  onAvailability(handler: () => void): void;
  close(): Promise<void>;
}
