/** The server's settings: one typed table (flag, environment variable, default, help), parsed without casts. */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { commandLine } from '../engine/commands.js';
import type { StreamStrategy } from '../engine/pipeline/index.js';
import { optionError } from './did-you-mean.js';
import { LOG_LEVELS, type LogLevel } from './log.js';

export interface ServerConfig {
  port: number;
  host: string;
  /** Whisper model file; undefined picks models/ggml-tiny.en.bin, else the synthetic stand-in. */
  modelPath: string | undefined;
  /** Silero VAD file; undefined picks the bundled ggml-silero-v6.2.0.bin. */
  vadModelPath: string | undefined;
  defaultLanguage: string;
  poolSize: number;
  threadsPerTask: number;
  partialIntervalMs: number;
  maxPartialIntervalMs: number;
  endSilenceMs: number;
  maxSegmentMs: number;
  maxUtteranceMs: number;
  finalBeamSize: number;
  earlyFinals: boolean;
  strategy: StreamStrategy;
  /** Benchmarks only: decode this many tokens per second of audio (0: as the model decides). */
  emulateTokensPerS: number;
  resumeTtlMs: number;
  /**
   * redis://host:port/db of a store the instances share (sessions survive an instance); undefined keeps them in memory.
   */
  sessionStore: string | undefined;
  pingIntervalMs: number;
  ackIntervalMs: number;
  idleTimeoutMs: number;
  maxSessionMs: number;
  maxSessions: number;
  maxDetachedSessions: number;
  maxDetachedPerPrincipal: number;
  overloadPendingMs: number;
  maxControlPerS: number;
  maxFlushesPerS: number;
  maxErrorsPerS: number;
  maxBufferedBytes: number;
  maxAudioRate: number;
  audioBurstMs: number;
  /** Largest file POST /v1/audio/transcriptions accepts. */
  maxUploadBytes: number;
  maxUploadSeconds: number;
  uploadConcurrency: number;
  uploadQueue: number;
  uploadsPerPrincipal: number;
  /** Origins browsers may connect from besides the server's own; `*` allows any. */
  allowedOrigins: string[];
  shutdownTimeoutMs: number;
  /** OpenAI-compatible endpoint that transcribes finals instead of the local model; undefined keeps them local. */
  forwardUrl: string | undefined;
  forwardToken: string | undefined;
  forwardModel: string;
  forwardTimeoutMs: number;
  forwardRetries: number;
  apiKeyHashes: string[];
  jwtSecret: string | undefined;
  jwtMaxLifetimeS: number;
  /** PEM files: with both, the server speaks HTTPS and WSS on its one port. */
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  logLevel: LogLevel;
  logFormat: 'text' | 'json';
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

interface Setting<T> {
  flag: string;
  env: string;
  help: string;
  parse: (value: string, name: string) => T;
  fallback: () => T;
  /** How --help shows the default, when the value alone would not say it. */
  shownDefault?: string;
}

const integer =
  (min: number, max: number) =>
  (value: string, name: string): number => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || n < min || n > max)
      throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got '${value}'`);
    return n;
  };
const decimal =
  (min: number, max: number) =>
  (value: string, name: string): number => {
    const n = Number(value);
    if (!/^\s*\d+(\.\d+)?\s*$/.test(value) || n < min || n > max)
      throw new ConfigError(`${name} must be a number from ${min} to ${max}, got '${value}'`);
    return n;
  };
const boolean = (value: string, name: string): boolean => {
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(`${name} must be true or false, got '${value}'`);
};
const text = (value: string, name: string): string => {
  if (value.trim() === '') throw new ConfigError(`${name} must not be empty`);
  return value.trim();
};
const httpUrl = (value: string, name: string): string => {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${name} must be an http(s) URL`);
  return url.toString();
};
const redisUrl = (value: string, name: string): string => {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new ConfigError(`${name} must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379/0`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new ConfigError(`${name} must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379/0`);
  return url.toString();
};
const oneOf =
  <T extends string>(values: readonly T[]) =>
  (value: string, name: string): T => {
    const found = values.find((v) => v === value);
    if (found === undefined) throw new ConfigError(`${name} must be one of ${values.join(', ')}, got '${value}'`);
    return found;
  };
const sha256List = (value: string, name: string): string[] => {
  const hashes = value
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  const bad = hashes.find((h) => !/^[0-9a-f]{64}$/.test(h));
  if (bad !== undefined) {
    throw new ConfigError(
      `${name} must be comma-separated sha256 hex digests (${commandLine('hashApiKey', '<key>')}), got ` +
        `'${bad.slice(0, 80)}'`,
    );
  }
  return hashes;
};
const origins = (value: string, name: string): string[] => {
  const list = value
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const origin of list) {
    if (origin === '*') continue;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new ConfigError(
        `${name} must be comma-separated origins such as https://app.example.com, or *; got '${origin}'`,
      );
    }
    if (url.origin !== origin)
      throw new ConfigError(
        `${name}: '${origin}' is not an origin (scheme://host[:port], no path); did you mean ${url.origin}?`,
      );
  }
  return list;
};
/**
 * A JWT secret shorter than this could be guessed offline from one token: refused at start-up. Counted in characters
 * (code points), not bytes: 8 emoji are 32 bytes but only 8 symbols to guess.
 */
export const MIN_JWT_SECRET_CHARS = 32;
const jwtSecret = (value: string, name: string): string => {
  if ([...value].length < MIN_JWT_SECRET_CHARS) {
    throw new ConfigError(
      `${name} must be at least ${MIN_JWT_SECRET_CHARS} characters long (e.g. openssl rand -base64 48)`,
    );
  }
  return value;
};
const optional = <T>(parse: (value: string, name: string) => T): ((value: string, name: string) => T | undefined) =>
  parse;
const none = (): undefined => undefined;

// Inference threads busy-wait at their barriers, so running more of them than there are cores only slows every
// task down. One thread per task and a worker per core: on 2 cores two 1-thread workers carried more streams than
// one 2-thread worker (docs/BENCHMARKS.md, pool shape), whose decoding at 2 threads is erratic.
const defaultThreads = (): number => 1;
const defaultPoolSize = (): number => Math.max(1, Math.floor(availableParallelism() / defaultThreads()));

/** Every setting, by config key; order is the order of --help. */
const SETTINGS: { [K in keyof ServerConfig]: Setting<ServerConfig[K]> } = {
  port: {
    flag: 'port',
    env: 'PORT',
    help: 'TCP port; 0 picks a free one',
    parse: integer(0, 65535),
    fallback: () => 8080,
  },
  host: {
    flag: 'host',
    env: 'HOST',
    help: 'interface to listen on (0.0.0.0 for all)',
    parse: text,
    fallback: () => '127.0.0.1',
  },
  modelPath: {
    flag: 'model',
    env: 'WHISPER_MODEL',
    help: 'Whisper ggml model file',
    parse: optional(text),
    fallback: none,
    shownDefault: 'models/ggml-tiny.en.bin, else the synthetic stand-in',
  },
  vadModelPath: {
    flag: 'vad-model',
    env: 'VAD_MODEL',
    help: 'Silero VAD ggml file',
    parse: optional(text),
    fallback: none,
    shownDefault: 'the bundled ggml-silero-v6.2.0.bin',
  },
  defaultLanguage: {
    flag: 'language',
    env: 'DEFAULT_LANGUAGE',
    help: "language of sessions that send none: ISO 639-1 code or 'auto'",
    parse: text,
    fallback: () => 'en',
  },
  poolSize: {
    flag: 'pool-size',
    env: 'POOL_SIZE',
    help: 'transcription worker threads',
    parse: integer(1, 64),
    fallback: defaultPoolSize,
    shownDefault: `cores / threads per task (${defaultPoolSize()} here)`,
  },
  threadsPerTask: {
    flag: 'threads',
    env: 'THREADS_PER_TASK',
    help: 'CPU threads per transcription',
    parse: integer(1, 64),
    fallback: defaultThreads,
    shownDefault: '1',
  },
  partialIntervalMs: {
    flag: 'partial-interval-ms',
    env: 'PARTIAL_INTERVAL_MS',
    help: 'audio time between partials (the narrowest, when the server is not loaded)',
    parse: integer(100, 5000),
    fallback: () => 600,
  },
  maxPartialIntervalMs: {
    flag: 'max-partial-interval-ms',
    env: 'MAX_PARTIAL_INTERVAL_MS',
    help: 'widest the partial interval grows under load (1 s keeps a partial about every second of speech)',
    parse: integer(100, 10_000),
    fallback: () => 1000,
  },
  endSilenceMs: {
    flag: 'end-silence-ms',
    env: 'END_SILENCE_MS',
    help: 'silence that ends a speech turn',
    parse: integer(100, 5000),
    fallback: () => 400,
  },
  maxSegmentMs: {
    flag: 'max-segment-ms',
    env: 'MAX_SEGMENT_MS',
    help:
      'while speech goes on, a final comes at each committed sentence end, or once the committed text spans ' +
      'this long',
    parse: integer(2000, 30000),
    fallback: () => 6000,
  },
  maxUtteranceMs: {
    flag: 'max-utterance-ms',
    env: 'MAX_UTTERANCE_MS',
    help: 'backstop: a segment this long without a committed boundary is cut at its quietest point',
    parse: integer(2000, 30000),
    fallback: () => 15000,
  },
  finalBeamSize: {
    flag: 'final-beam-size',
    env: 'FINAL_BEAM_SIZE',
    help: 'beam width of finals (1 is greedy)',
    parse: integer(1, 8),
    fallback: () => 3,
  },
  earlyFinals: {
    flag: 'early-finals',
    env: 'EARLY_FINALS',
    help: 'start a final at a pause, before the end-of-speech silence is confirmed',
    parse: boolean,
    fallback: () => true,
  },
  strategy: {
    flag: 'strategy',
    env: 'STRATEGY',
    help: "'adaptive', or 'naive' (full-context fixed-window re-transcription, a benchmark baseline)",
    parse: oneOf(['adaptive', 'naive'] as const),
    fallback: () => 'adaptive',
  },
  emulateTokensPerS: {
    flag: 'emulate-tokens-per-s',
    env: 'EMULATE_TOKENS_PER_S',
    help: 'BENCHMARKS ONLY: every decode makes this many tokens per second of audio (synthetic models); 0 is off',
    parse: decimal(0, 50),
    fallback: () => 0,
  },
  resumeTtlMs: {
    flag: 'resume-ttl-ms',
    env: 'RESUME_TTL_MS',
    help: 'how long a session whose socket dropped waits to be resumed',
    parse: integer(100, 3_600_000),
    fallback: () => 30_000,
  },
  pingIntervalMs: {
    flag: 'ping-interval-ms',
    env: 'PING_INTERVAL_MS',
    help: 'WebSocket ping period; no pong by the next ping drops the socket',
    parse: integer(50, 600_000),
    fallback: () => 15_000,
  },
  sessionStore: {
    flag: 'session-store',
    env: 'SESSION_STORE',
    help:
      'redis://host:port/db shared by several instances: sessions are resumed on any of them, after a crash ' +
      'or a restart (docs/DEPLOY.md)',
    parse: optional(redisUrl),
    fallback: none,
    shownDefault: 'none: sessions live in this process',
  },
  ackIntervalMs: {
    flag: 'ack-interval-ms',
    env: 'ACK_INTERVAL_MS',
    help: 'audio time between {"type":"ack"} messages',
    parse: integer(100, 60_000),
    fallback: () => 1000,
  },
  idleTimeoutMs: {
    flag: 'idle-timeout-ms',
    env: 'IDLE_TIMEOUT_MS',
    help: 'a connected session sending no audio this long is finalized and closed (4002)',
    parse: integer(100, 86_400_000),
    fallback: () => 60_000,
  },
  maxSessionMs: {
    flag: 'max-session-ms',
    env: 'MAX_SESSION_MS',
    help: 'longest session lifetime; then finalized and closed (4003)',
    parse: integer(1000, 604_800_000),
    fallback: () => 14_400_000,
  },
  maxSessions: {
    flag: 'max-sessions',
    env: 'MAX_SESSIONS',
    help: 'concurrent live sessions (with a socket); more get HTTP 503',
    parse: integer(1, 100_000),
    fallback: () => 100,
  },
  maxDetachedSessions: {
    flag: 'max-detached-sessions',
    env: 'MAX_DETACHED_SESSIONS',
    help: 'sessions waiting to be resumed, in all; beyond it the oldest is ended',
    parse: integer(0, 100_000),
    fallback: () => 50,
  },
  maxDetachedPerPrincipal: {
    flag: 'max-detached-per-principal',
    env: 'MAX_DETACHED_PER_PRINCIPAL',
    help:
      'sessions waiting to be resumed per principal (per client address without auth); beyond it their ' +
      'oldest is ended',
    parse: integer(0, 10_000),
    fallback: () => 4,
  },
  overloadPendingMs: {
    flag: 'overload-pending-ms',
    env: 'OVERLOAD_PENDING_MS',
    help: 'audio awaiting finals in one session above which it is warned "overloaded" (twice that: reads pause)',
    parse: integer(1000, 600_000),
    fallback: () => 30_000,
  },
  maxControlPerS: {
    flag: 'max-control-per-s',
    env: 'MAX_CONTROL_PER_S',
    help:
      'messages without audio (configuration, keep-alives, flushes) a connection may send per second, twice ' +
      'that at once; more closes it with 1008 (audio is paced by MAX_AUDIO_RATE instead)',
    parse: integer(1, 10_000),
    fallback: () => 10,
  },
  maxFlushesPerS: {
    flag: 'max-flushes-per-s',
    env: 'MAX_FLUSHES_PER_S',
    help:
      'utterance-ending messages (flush, Finalize, ForceEndpoint, input_audio_buffer.commit, ' +
      'stop-transcription) a connection may send per second after 5 at once; more wait their turn, and the ' +
      'connection is read more slowly meanwhile',
    parse: decimal(0.1, 100),
    fallback: () => 1,
  },
  maxErrorsPerS: {
    flag: 'max-errors-per-s',
    env: 'MAX_ERRORS_PER_S',
    help: 'error replies a connection may cause per second; more closes it with 1008',
    parse: integer(1, 10_000),
    fallback: () => 10,
  },
  maxBufferedBytes: {
    flag: 'max-buffered-bytes',
    env: 'MAX_BUFFERED_BYTES',
    help:
      'bytes waiting to be sent to a client that does not read; more drops it, without a close frame (it ' +
      'would not read one)',
    parse: integer(65_536, 1_073_741_824),
    fallback: () => 4 * 1024 * 1024,
  },
  maxAudioRate: {
    flag: 'max-audio-rate',
    env: 'MAX_AUDIO_RATE',
    help: 'audio a session may send, in multiples of real time, after its burst; faster senders are read more slowly',
    parse: decimal(1, 100),
    fallback: () => 1.5,
  },
  audioBurstMs: {
    flag: 'audio-burst-ms',
    env: 'AUDIO_BURST_MS',
    help:
      'audio a connection may send ahead of MAX_AUDIO_RATE (a queue, a file); one that resumed a session ' +
      'also gets RESUME_TTL_MS + MAX_UTTERANCE_MS + ACK_INTERVAL_MS for its resend',
    parse: integer(0, 3_600_000),
    fallback: () => 10_000,
  },
  maxUploadBytes: {
    flag: 'max-upload-bytes',
    env: 'MAX_UPLOAD_BYTES',
    help: 'largest WAV file POST /v1/audio/transcriptions accepts (413 above)',
    parse: integer(1024, 2_000_000_000),
    fallback: () => 25 * 1024 * 1024,
  },
  maxUploadSeconds: {
    flag: 'max-upload-seconds',
    env: 'MAX_UPLOAD_SECONDS',
    help: 'longest audio an upload may hold (413 above)',
    parse: integer(1, 86_400),
    fallback: () => 600,
  },
  uploadConcurrency: {
    flag: 'upload-concurrency',
    env: 'UPLOAD_CONCURRENCY',
    help: "uploads transcribed at once, always after live sessions' work",
    parse: integer(1, 64),
    fallback: () => 1,
  },
  uploadQueue: {
    flag: 'upload-queue',
    env: 'UPLOAD_QUEUE',
    help: 'uploads waiting beyond those running; more get 503 with Retry-After',
    parse: integer(0, 10_000),
    fallback: () => 8,
  },
  uploadsPerPrincipal: {
    flag: 'uploads-per-principal',
    env: 'UPLOADS_PER_PRINCIPAL',
    help: 'uploads one principal (or address) may have running or waiting; more get 429',
    parse: integer(1, 10_000),
    fallback: () => 2,
  },
  allowedOrigins: {
    flag: 'allowed-origins',
    env: 'ALLOWED_ORIGINS',
    help:
      "comma-separated origins browsers may use besides the server's own (* for any); requests without " +
      'Origin are always allowed',
    parse: origins,
    fallback: () => [],
    shownDefault: 'the same origin only',
  },
  shutdownTimeoutMs: {
    flag: 'shutdown-timeout-ms',
    env: 'SHUTDOWN_TIMEOUT_MS',
    help: 'on SIGTERM, time given to finals before remaining sockets are closed',
    parse: integer(0, 600_000),
    fallback: () => 10_000,
  },
  forwardUrl: {
    flag: 'forward-url',
    env: 'FORWARD_URL',
    help:
      'send finals to this OpenAI-compatible transcription endpoint (e.g. ' +
      'http://host:8000/v1/audio/transcriptions); partials stay on the local model, or are off when only the ' +
      'synthetic stand-in is there',
    parse: optional(httpUrl),
    fallback: none,
  },
  forwardToken: {
    flag: 'forward-token',
    env: 'FORWARD_TOKEN',
    help: 'bearer token for FORWARD_URL',
    parse: optional(text),
    fallback: none,
  },
  forwardModel: {
    flag: 'forward-model',
    env: 'FORWARD_MODEL',
    help: 'model name sent to FORWARD_URL',
    parse: text,
    fallback: () => 'whisper-1',
  },
  forwardTimeoutMs: {
    flag: 'forward-timeout-ms',
    env: 'FORWARD_TIMEOUT_MS',
    help: 'time limit of one request to FORWARD_URL',
    parse: integer(100, 600_000),
    fallback: () => 30_000,
  },
  forwardRetries: {
    flag: 'forward-retries',
    env: 'FORWARD_RETRIES',
    help: 'retries after a failed request to FORWARD_URL (backoff 250 ms, doubling)',
    parse: integer(0, 10),
    fallback: () => 2,
  },
  apiKeyHashes: {
    flag: 'api-key-hashes',
    env: 'API_KEY_HASHES',
    help: 'comma-separated sha256 hex of accepted API keys; turns auth on',
    parse: sha256List,
    fallback: () => [],
    shownDefault: 'none',
  },
  jwtSecret: {
    flag: 'jwt-secret',
    env: 'JWT_SECRET',
    help: `HS256 secret (${MIN_JWT_SECRET_CHARS}+ characters) for JWTs with exp and a string sub; turns auth on`,
    parse: optional(jwtSecret),
    fallback: none,
  },
  jwtMaxLifetimeS: {
    flag: 'jwt-max-lifetime-s',
    env: 'JWT_MAX_LIFETIME_S',
    help: 'JWTs whose exp lies further ahead than this are refused',
    parse: integer(1, 31_536_000),
    fallback: () => 86_400,
  },
  tlsCertFile: {
    flag: 'tls-cert-file',
    env: 'TLS_CERT_FILE',
    help: 'PEM certificate (chain): serve https:// and wss:// (with TLS_KEY_FILE)',
    parse: optional(text),
    fallback: none,
  },
  tlsKeyFile: {
    flag: 'tls-key-file',
    env: 'TLS_KEY_FILE',
    help: 'PEM private key of TLS_CERT_FILE',
    parse: optional(text),
    fallback: none,
  },
  logLevel: {
    flag: 'log-level',
    env: 'LOG_LEVEL',
    help: 'debug, info, warn or error',
    parse: oneOf(LOG_LEVELS),
    fallback: () => 'info',
  },
  logFormat: {
    flag: 'log-format',
    env: 'LOG_FORMAT',
    help: "'text' or 'json' log lines",
    parse: oneOf(['text', 'json'] as const),
    fallback: () => (process.stdout.isTTY ? 'text' : 'json'),
    shownDefault: 'text on a terminal, else json',
  },
};

function shownDefault(setting: Setting<unknown>): string {
  if (setting.shownDefault !== undefined) return setting.shownDefault;
  const value = setting.fallback();
  if (value === undefined) return 'none';
  return Array.isArray(value) ? value.join(',') || 'none' : String(value);
}

export const HELP = `Usage: ${commandLine('serve', '[options]')}

Real-time speech-to-text over WebSocket: ws://HOST:PORT/stream and /speech (docs/PROTOCOL.md),
GET /healthz, GET /readyz, GET /stats, GET /metrics (Prometheus), POST /v1/audio/transcriptions.
Each option can also be set by its environment variable; the command line wins.

${Object.values<Setting<unknown>>(SETTINGS)
  .map((s) => `  --${`${s.flag} <value>`.padEnd(34)} ${s.env.padEnd(27)} ${s.help} (default: ${shownDefault(s)})`)
  .join('\n')}
  --help
`;

/** Settings from the environment, overridden by command-line flags. Throws ConfigError with a readable message. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig | 'help' {
  let flags: Record<string, string | boolean | undefined>;
  const names = Object.values<Setting<unknown>>(SETTINGS).map((s) => s.flag);
  try {
    const options = Object.fromEntries(names.map((flag) => [flag, { type: 'string' as const }]));
    flags = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' } }, strict: true }).values;
  } catch (error) {
    throw new ConfigError(optionError(error, [...names, 'help']));
  }
  if (flags['help']) return 'help';
  const value = <K extends keyof ServerConfig>(key: K): ServerConfig[K] => {
    const setting: Setting<ServerConfig[K]> = SETTINGS[key];
    const flag = flags[setting.flag];
    const fromEnv = env[setting.env];
    if (typeof flag === 'string') return setting.parse(flag, `--${setting.flag}`);
    if (fromEnv !== undefined && fromEnv !== '') return setting.parse(fromEnv, setting.env);
    return setting.fallback();
  };
  const config: ServerConfig = {
    port: value('port'),
    host: value('host'),
    modelPath: value('modelPath'),
    vadModelPath: value('vadModelPath'),
    defaultLanguage: value('defaultLanguage'),
    poolSize: value('poolSize'),
    threadsPerTask: value('threadsPerTask'),
    partialIntervalMs: value('partialIntervalMs'),
    maxPartialIntervalMs: value('maxPartialIntervalMs'),
    endSilenceMs: value('endSilenceMs'),
    maxSegmentMs: value('maxSegmentMs'),
    maxUtteranceMs: value('maxUtteranceMs'),
    finalBeamSize: value('finalBeamSize'),
    earlyFinals: value('earlyFinals'),
    strategy: value('strategy'),
    emulateTokensPerS: value('emulateTokensPerS'),
    resumeTtlMs: value('resumeTtlMs'),
    sessionStore: value('sessionStore'),
    pingIntervalMs: value('pingIntervalMs'),
    ackIntervalMs: value('ackIntervalMs'),
    idleTimeoutMs: value('idleTimeoutMs'),
    maxSessionMs: value('maxSessionMs'),
    maxSessions: value('maxSessions'),
    maxDetachedSessions: value('maxDetachedSessions'),
    maxDetachedPerPrincipal: value('maxDetachedPerPrincipal'),
    overloadPendingMs: value('overloadPendingMs'),
    maxControlPerS: value('maxControlPerS'),
    maxFlushesPerS: value('maxFlushesPerS'),
    maxErrorsPerS: value('maxErrorsPerS'),
    maxBufferedBytes: value('maxBufferedBytes'),
    maxAudioRate: value('maxAudioRate'),
    audioBurstMs: value('audioBurstMs'),
    maxUploadBytes: value('maxUploadBytes'),
    maxUploadSeconds: value('maxUploadSeconds'),
    uploadConcurrency: value('uploadConcurrency'),
    uploadQueue: value('uploadQueue'),
    uploadsPerPrincipal: value('uploadsPerPrincipal'),
    allowedOrigins: value('allowedOrigins'),
    shutdownTimeoutMs: value('shutdownTimeoutMs'),
    forwardUrl: value('forwardUrl'),
    forwardToken: value('forwardToken'),
    forwardModel: value('forwardModel'),
    forwardTimeoutMs: value('forwardTimeoutMs'),
    forwardRetries: value('forwardRetries'),
    apiKeyHashes: value('apiKeyHashes'),
    jwtSecret: value('jwtSecret'),
    jwtMaxLifetimeS: value('jwtMaxLifetimeS'),
    tlsCertFile: value('tlsCertFile'),
    tlsKeyFile: value('tlsKeyFile'),
    logLevel: value('logLevel'),
    logFormat: value('logFormat'),
  };
  if ((config.tlsCertFile === undefined) !== (config.tlsKeyFile === undefined))
    throw new ConfigError('TLS_CERT_FILE and TLS_KEY_FILE go together: set both, or neither');
  if (config.maxPartialIntervalMs < config.partialIntervalMs) {
    throw new ConfigError(
      `MAX_PARTIAL_INTERVAL_MS (${config.maxPartialIntervalMs}) must not be below PARTIAL_INTERVAL_MS ` +
        `(${config.partialIntervalMs})`,
    );
  }
  return config;
}
