import { decode, encode } from '@msgpack/msgpack';
import type { TranscriptEvent } from '../../engine/pipeline/index.js';

/** What must survive a dropped socket, as plain data (a shared store could keep it in another process). */
export interface SessionRecord {
  id: string;
  /** Who created the session; only they may resume it. */
  principal: string;
  /** sha256 hex of the resume token; the token itself is only ever sent to the client. */
  resumeTokenHash: string;
  createdAt: number;
  /** When the last socket went away; null while one is attached. */
  detachedAt: number | null;
}

/**
 * Session state behind one small interface, so several server instances could later share a store without the
 * pipeline changing. The transcript log holds what a resuming client may not have received yet.
 */
export interface SessionStore {
  create(record: SessionRecord): Promise<void>;
  get(id: string): Promise<SessionRecord | undefined>;
  update(id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<void>;
  /** Appends a transcript to the session's replay log. */
  append(id: string, event: TranscriptEvent): Promise<void>;
  /** Logged transcripts with seq > afterSeq, oldest first. */
  replay(id: string, afterSeq: number): Promise<TranscriptEvent[]>;
  /** Forgets logged transcripts with seq <= upToSeq (the client has them). */
  prune(id: string, upToSeq: number): Promise<void>;
  delete(id: string): Promise<void>;
  count(): Promise<number>;
}

interface Entry {
  record: Uint8Array;
  log: { seq: number; event: Uint8Array }[];
}

/**
 * The in-process store. Records are kept msgpack-encoded so nothing that could not cross a process boundary slips in.
 */
export class MemorySessionStore implements SessionStore {
  private readonly entries = new Map<string, Entry>();

  async create(record: SessionRecord): Promise<void> {
    if (this.entries.has(record.id)) throw new Error(`session ${record.id} already exists`);
    this.entries.set(record.id, { record: encode(record), log: [] });
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const entry = this.entries.get(id);
    return entry && (decode(entry.record) as SessionRecord);
  }

  async update(id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.record = encode({ ...(decode(entry.record) as SessionRecord), ...patch });
  }

  async append(id: string, event: TranscriptEvent): Promise<void> {
    this.entries.get(id)?.log.push({ seq: event.seq, event: encode(event) });
  }

  async replay(id: string, afterSeq: number): Promise<TranscriptEvent[]> {
    const log = this.entries.get(id)?.log ?? [];
    return log.filter((item) => item.seq > afterSeq).map((item) => decode(item.event) as TranscriptEvent);
  }

  async prune(id: string, upToSeq: number): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    const keepFrom = entry.log.findIndex((item) => item.seq > upToSeq);
    entry.log.splice(0, keepFrom < 0 ? entry.log.length : keepFrom);
  }

  async delete(id: string): Promise<void> {
    this.entries.delete(id);
  }

  async count(): Promise<number> {
    return this.entries.size;
  }
}
