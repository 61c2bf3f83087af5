/**
 * The WebSocket endpoints: for each path, its protocol's adapter, where its clients put their credential, and how its
 * query string starts a session. A new protocol adds one entry here and one adapter file.
 */
import type { IncomingMessage } from 'node:http';
import type { LanguagePolicy } from '../../engine/pipeline/index.js';
import { resumeFromQuery, type ResumeRequest } from '../../protocol/stream.js';
import { MISSING_CREDENTIAL } from '../auth/authenticator.js';
import { extractCredential } from '../auth/credential.js';
import { MISSING_REALTIME_CREDENTIAL, realtimeCredential } from '../auth/realtime-credential.js';
import type { ProtocolAdapter } from './adapter.js';
import {
  ASSEMBLYAI_MISSING_CREDENTIAL,
  ASSEMBLYAI_UNAUTHORIZED,
  AssemblyAiAdapter,
  assemblyAiCredential,
} from './adapters/assemblyai.js';
import {
  DEEPGRAM_MISSING_CREDENTIAL,
  DeepgramAdapter,
  deepgramCredential,
  deepgramRefusal,
} from './adapters/deepgram.js';
import { realtimeAdapter } from './adapters/openai-realtime.js';
import { SpeechAdapter } from './adapters/speech.js';
import { StreamAdapter } from './adapters/stream.js';
import type { Frame } from './ws-transport.js';
import type { RefusalShape } from '../http/respond.js';

/** What an adapter may need from the server's settings. */
export interface AdapterSettings {
  ackIntervalMs: number;
  /** The languages the model serves, for protocols that name theirs in the upgrade's query string. */
  languages: LanguagePolicy;
  /** MAX_SESSION_MS, for protocols that tell clients when their session expires. */
  maxSessionMs: number;
  /** END_SILENCE_MS: the silence that ends a turn when a client names none. */
  endSilenceMs: number;
}

export interface WsRoute {
  path: string;
  /**
   * Longest text message, checked before it is parsed: the protocol's largest legitimate one with room to spare.
   * More closes the connection with 1009.
   */
  maxTextBytes: number;
  /** The credential in this protocol's own place, and the message a client without one gets. */
  credential(req: IncomingMessage, query: URLSearchParams): string | undefined;
  missingCredential: string;
  /** The body of a refused upgrade in this protocol's shape; absent: the server's `{"error": code, "message": ...}`. */
  refusalBody?: RefusalShape;
  /**
   * Refused credentials answered after the upgrade rather than with a 401: the socket opens, is sent `message` and
   * closes with `code`, as a protocol whose clients retry failed handshakes but not that close expects.
   */
  unauthorized?: { code: number; reason: string; message(reason: string): string };
  /** A resume the upgrade asks for (native /stream), `malformed`, or null. */
  resume(query: URLSearchParams): ResumeRequest | null | 'malformed';
  /**
   * The adapter for an accepted connection; throws ProtocolError when the query string is unusable, which refuses the
   * upgrade with 400 and the error's message. `req` is the upgrade request, for headers a protocol reads.
   */
  adapter(
    send: (message: string) => void,
    query: URLSearchParams,
    settings: AdapterSettings,
    req: IncomingMessage,
  ): ProtocolAdapter<Frame>;
}

const bearer = (req: IncomingMessage, query: URLSearchParams): string | undefined =>
  extractCredential(req, query)?.token;
/**
 * Control messages: a 1,024-byte prompt written as JSON \u escapes (12 bytes a character for an emoji), the other
 * fields, and room to spare.
 */
const CONTROL_TEXT_BYTES = 16 * 1024;
/** OpenAI Realtime sends its audio as base64 text: about 16 s of 24 kHz audio in one append (OpenAI takes 15 MiB). */
const REALTIME_TEXT_BYTES = 1 << 20;
const noResume = (): null => null;

export const WS_ROUTES: readonly WsRoute[] = [
  {
    path: '/stream',
    maxTextBytes: CONTROL_TEXT_BYTES,
    credential: bearer,
    missingCredential: MISSING_CREDENTIAL,
    resume: resumeFromQuery,
    adapter: (send, _query, settings) => new StreamAdapter(send, settings.ackIntervalMs),
  },
  {
    path: '/speech',
    maxTextBytes: CONTROL_TEXT_BYTES,
    credential: bearer,
    missingCredential: MISSING_CREDENTIAL,
    resume: noResume,
    adapter: (send) => new SpeechAdapter(send),
  },
  {
    path: '/v1/listen',
    maxTextBytes: CONTROL_TEXT_BYTES,
    credential: deepgramCredential,
    missingCredential: DEEPGRAM_MISSING_CREDENTIAL,
    refusalBody: deepgramRefusal,
    resume: noResume,
    adapter: (send, query, settings) => new DeepgramAdapter(send, query, settings),
  },
  {
    path: '/v3/ws',
    maxTextBytes: CONTROL_TEXT_BYTES,
    credential: assemblyAiCredential,
    missingCredential: ASSEMBLYAI_MISSING_CREDENTIAL,
    unauthorized: ASSEMBLYAI_UNAUTHORIZED,
    resume: noResume,
    adapter: (send, query, settings) => new AssemblyAiAdapter(send, query, settings),
  },
  {
    path: '/v1/realtime',
    maxTextBytes: REALTIME_TEXT_BYTES,
    credential: realtimeCredential,
    missingCredential: MISSING_REALTIME_CREDENTIAL,
    resume: noResume,
    adapter: (send, query, _settings, req) => realtimeAdapter(send, query, req.headers),
  },
];
