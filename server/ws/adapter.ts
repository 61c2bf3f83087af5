/**
 * The boundary between one wire protocol and the socket binding: an adapter turns what a client sends into session
 * commands and the session's events into that protocol's messages. Limits, heartbeat, backlog, authentication and
 * session bookkeeping are the binding's (socket-binding.ts), the same for every protocol.
 */
import type { SpeechEvent, TranscriptEvent } from '../../engine/pipeline/index.js';
import type { ErrorCode } from '../../protocol/errors.js';
import type { ResumeRequest } from '../../protocol/stream.js';

/** Session settings a client may choose, at start or later. */
export interface SessionOptions {
  language?: string;
  /** Vocabulary hint for Whisper's prompt (already checked against MAX_PROMPT_CHARS). */
  prompt?: string;
  /** Silence that ends an utterance; null: only the client ends utterances (flush). */
  endpointingMs?: number | null;
}

/** How a start or stop went: the session's id, or why it was refused. */
export type SessionOutcome = { sessionId: string } | { code: ErrorCode; message: string };

export type Command =
  /** 16 kHz mono s16le PCM, whatever the client sent (adapters convert). */
  | { type: 'audio'; pcm: Uint8Array }
  /** Opens a session on a connection that has none; `done` learns its id, or why not. */
  | { type: 'start'; options: SessionOptions; done?: (outcome: SessionOutcome) => void }
  /** `done` runs once the options are applied (not when they were refused). */
  | { type: 'configure'; options: SessionOptions; done?: () => void }
  /**
   * Ends the current utterance now. `done` runs once its end is known (its speech `stopped` event came first);
   * `settled`, without holding up later messages, once its final has been sent or dropped as empty.
   */
  | { type: 'flush'; done?: () => void; settled?: () => void }
  /** Drops the audio no utterance has ended over yet (see StreamSession.discard); `done` runs after. */
  | { type: 'discard'; done?: () => void }
  /** Finalizes the session; the connection stays open for another start. `done` runs after the last final. */
  | { type: 'stop'; done?: (outcome: SessionOutcome) => void }
  /** Finalizes the session and closes the connection normally. */
  | { type: 'end' }
  | { type: 'resume'; request: ResumeRequest }
  /** The client is there though it sends no audio: the idle clock starts over. */
  | { type: 'keepalive' };

/** What a new or resumed session looks like to the adapter that announces it. */
export interface SessionInfo {
  id: string;
  /** Only on resumable protocols, only for a new session. */
  resumeToken: string | null;
  resumeTtlMs: number;
  resumed: boolean;
  /** Audio the session has received (a resumed one: what the client must resend from). */
  samplesReceived: number;
}

/** How a protocol closes a connection that sends nothing (see ProtocolAdapter.idle). */
export interface IdleRule {
  /** No audio and no keep-alive for this long. */
  ms: number;
  code: number;
  reason: string;
}

export interface ProtocolAdapter<In> {
  /** Metrics label and log field. */
  readonly protocol: string;
  /** The session starts with the connection; otherwise with a `start` command. */
  readonly startsAtConnect: boolean;
  /** A dropped connection leaves the session waiting to be resumed (native /stream only). */
  readonly resumable: boolean;
  /**
   * The protocol's own idle rule, where it has one: the connection is closed with its code and reason after its time
   * or the server's IDLE_TIMEOUT_MS, whichever is shorter. Absent: IDLE_TIMEOUT_MS and 4002.
   */
  readonly idle?: IdleRule;
  /** Options of the session a connection starts with (query parameters of the upgrade, say). */
  readonly connectOptions: SessionOptions;
  /** Throws ProtocolError for anything it cannot make sense of. */
  decode(message: In): Command[];
  started(session: SessionInfo): void;
  transcript(event: TranscriptEvent): void;
  speech(event: SpeechEvent): void;
  /** Audio went into the session; `samplesReceived` counts all of it. */
  audio(samplesReceived: number): void;
  /**
   * The session's audio before `sample` is settled: speech detection has been through it, every turn starting in it
   * was announced by a speech event, and every final for it was emitted. Speech detection runs behind the audio
   * received, so what the audio alone seems to show (a silence) may not hold until then. Told as it moves on (with
   * audio, transcripts and speech events), to the adapters that ask.
   */
  settled?(sample: number): void;
  error(code: ErrorCode, message: string): void;
  /** The session ended and everything it had to say was sent; the connection stays. */
  stopped(sessionId: string): void;
  /** The connection is about to close: a protocol's last words (totals, a termination message). */
  closing(): void;
}
