import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { StreamStrategy } from '../engine/pipeline/index.js';
import { LOG_LEVELS, type LogLevel } from './log.js';

export interface ServerConfig {
  port: number;
  host: string;
  /** Whisper model file; undefined picks models/ggml-tiny.en.bin, else its synthetic stand-in. */
  modelPath: string | undefined;
  /** Silero VAD file; undefined picks models/ggml-silero-v6.2.0.bin. */
  vadModelPath: string | undefined;
  defaultLanguage: string;
  poolSize: number;
  threadsPerTask: number;
  partialIntervalMs: number;
  endSilenceMs: number;
  maxUtteranceMs: number;
  finalBeamSize: number;
  strategy: StreamStrategy;
  resumeTtlMs: number;
  pingIntervalMs: number;
  ackIntervalMs: number;
  idleTimeoutMs: number;
  maxSessionMs: number;
  maxSessions: number;
  overloadPendingMs: number;
  /** Largest file POST /v1/audio/transcriptions accepts. */
  maxUploadBytes: number;
  /** OpenAI-compatible endpoint that transcribes finals instead of the local model; undefined keeps them local. */
  forwardUrl: string | undefined;
  forwardToken: string | undefined;
  forwardModel: string;
  forwardTimeoutMs: number;
  forwardRetries: number;
  apiKeyHashes: string[];
  jwtSecret: string | undefined;
  logLevel: LogLevel;
  logFormat: 'text' | 'json';
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

interface Setting {
  flag: string;
  env: string;
  help: string;
  parse: (value: string, name: string) => unknown;
  fallback: () => unknown;
}

const integer =
  (min: number, max: number) =>
  (value: string, name: string): number => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got '${value}'`);
    return n;
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
    throw new ConfigError(`${name} must be an http(s) URL, got '${value}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${name} must be an http(s) URL, got '${value}'`);
  return url.toString();
};
const oneOf =
  <T extends string>(values: readonly T[]) =>
  (value: string, name: string): T => {
    if (!(values as readonly string[]).includes(value)) throw new ConfigError(`${name} must be one of ${values.join(', ')}, got '${value}'`);
    return value as T;
  };

const sha256List = (value: string, name: string): string[] => {
  const hashes = value.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
  const bad = hashes.find((h) => !/^[0-9a-f]{64}$/.test(h));
  if (bad !== undefined) throw new ConfigError(`${name} must be comma-separated sha256 hex digests (npm run hash-api-key -- <key>), got '${bad}'`);
  return hashes;
};

// Inference threads busy-wait at their barriers, so running more of them than there are cores only slows every
// task down: two threads per task (the measured sweet spot for tiny) and as many workers as fill the cores.
const defaultThreads = (): number => Math.min(2, availableParallelism());
const defaultPoolSize = (): number => Math.max(1, Math.floor(availableParallelism() / defaultThreads()));

/** Every setting, by config key; order is the order of --help. */
const SETTINGS: Record<keyof ServerConfig, Setting> = {
  port: { flag: 'port', env: 'PORT', help: 'TCP port; 0 picks a free one', parse: integer(0, 65535), fallback: () => 8080 },
  host: { flag: 'host', env: 'HOST', help: 'interface to listen on (0.0.0.0 for all)', parse: text, fallback: () => '127.0.0.1' },
  modelPath: {
    flag: 'model',
    env: 'WHISPER_MODEL',
    help: 'Whisper ggml model file (default: models/ggml-tiny.en.bin, else the synthetic stand-in)',
    parse: text,
    fallback: () => undefined,
  },
  vadModelPath: { flag: 'vad-model', env: 'VAD_MODEL', help: 'Silero VAD ggml file (default: models/ggml-silero-v6.2.0.bin)', parse: text, fallback: () => undefined },
  defaultLanguage: { flag: 'language', env: 'DEFAULT_LANGUAGE', help: "language of sessions that send none: ISO 639-1 code or 'auto'", parse: text, fallback: () => 'en' },
  poolSize: { flag: 'pool-size', env: 'POOL_SIZE', help: 'transcription worker threads (default: cores / threads per task)', parse: integer(1, 64), fallback: defaultPoolSize },
  threadsPerTask: { flag: 'threads', env: 'THREADS_PER_TASK', help: 'CPU threads per transcription (default: min(2, cores))', parse: integer(1, 64), fallback: defaultThreads },
  partialIntervalMs: { flag: 'partial-interval-ms', env: 'PARTIAL_INTERVAL_MS', help: 'audio time between partial transcripts', parse: integer(100, 5000), fallback: () => 400 },
  endSilenceMs: { flag: 'end-silence-ms', env: 'END_SILENCE_MS', help: 'silence that ends an utterance', parse: integer(100, 5000), fallback: () => 400 },
  maxUtteranceMs: { flag: 'max-utterance-ms', env: 'MAX_UTTERANCE_MS', help: 'longest utterance before a forced cut (Whisper reads at most 30 s)', parse: integer(2000, 30000), fallback: () => 15000 },
  finalBeamSize: { flag: 'final-beam-size', env: 'FINAL_BEAM_SIZE', help: 'beam width of finals; 1 (greedy) makes them repeatable', parse: integer(1, 8), fallback: () => 3 },
  strategy: {
    flag: 'strategy',
    env: 'STRATEGY',
    help: "'adaptive', or 'naive' (full-context fixed-window re-transcription, a benchmark baseline)",
    parse: oneOf(['adaptive', 'naive'] as const),
    fallback: () => 'adaptive',
  },
  resumeTtlMs: { flag: 'resume-ttl-ms', env: 'RESUME_TTL_MS', help: 'how long a session whose socket dropped waits to be resumed', parse: integer(100, 3_600_000), fallback: () => 30_000 },
  pingIntervalMs: { flag: 'ping-interval-ms', env: 'PING_INTERVAL_MS', help: 'WebSocket ping period; no pong by the next ping drops the socket', parse: integer(50, 600_000), fallback: () => 15_000 },
  ackIntervalMs: { flag: 'ack-interval-ms', env: 'ACK_INTERVAL_MS', help: 'audio time between {"type":"ack"} messages', parse: integer(100, 60_000), fallback: () => 1000 },
  idleTimeoutMs: { flag: 'idle-timeout-ms', env: 'IDLE_TIMEOUT_MS', help: 'a connected session sending no audio this long is finalized and closed (4002)', parse: integer(100, 86_400_000), fallback: () => 60_000 },
  maxSessionMs: { flag: 'max-session-ms', env: 'MAX_SESSION_MS', help: 'longest session lifetime; then finalized and closed (4003)', parse: integer(1000, 604_800_000), fallback: () => 14_400_000 },
  maxSessions: { flag: 'max-sessions', env: 'MAX_SESSIONS', help: 'concurrent sessions (attached or awaiting resume); more get HTTP 503', parse: integer(1, 100_000), fallback: () => 100 },
  overloadPendingMs: {
    flag: 'overload-pending-ms',
    env: 'OVERLOAD_PENDING_MS',
    help: 'audio awaiting finals in one session above which it is warned "overloaded"',
    parse: integer(1000, 600_000),
    fallback: () => 30_000,
  },
  maxUploadBytes: {
    flag: 'max-upload-bytes',
    env: 'MAX_UPLOAD_BYTES',
    help: 'largest WAV file POST /v1/audio/transcriptions accepts (413 above)',
    parse: integer(1024, 2_000_000_000),
    fallback: () => 25 * 1024 * 1024,
  },
  forwardUrl: {
    flag: 'forward-url',
    env: 'FORWARD_URL',
    help: 'send finals to this OpenAI-compatible transcription endpoint (e.g. http://host:8000/v1/audio/transcriptions); partials stay on the local model, or are off when only the synthetic stand-in is there',
    parse: httpUrl,
    fallback: () => undefined,
  },
  forwardToken: { flag: 'forward-token', env: 'FORWARD_TOKEN', help: 'bearer token for FORWARD_URL', parse: text, fallback: () => undefined },
  forwardModel: { flag: 'forward-model', env: 'FORWARD_MODEL', help: 'model name sent to FORWARD_URL', parse: text, fallback: () => 'whisper-1' },
  forwardTimeoutMs: { flag: 'forward-timeout-ms', env: 'FORWARD_TIMEOUT_MS', help: 'time limit of one request to FORWARD_URL', parse: integer(100, 600_000), fallback: () => 30_000 },
  forwardRetries: { flag: 'forward-retries', env: 'FORWARD_RETRIES', help: 'retries after a failed request to FORWARD_URL (backoff 250 ms, doubling)', parse: integer(0, 10), fallback: () => 2 },
  apiKeyHashes: { flag: 'api-key-hashes', env: 'API_KEY_HASHES', help: 'comma-separated sha256 hex of accepted API keys; turns auth on', parse: sha256List, fallback: () => [] },
  jwtSecret: { flag: 'jwt-secret', env: 'JWT_SECRET', help: 'HS256 secret for JWTs (exp and sub required); turns auth on', parse: text, fallback: () => undefined },
  logLevel: { flag: 'log-level', env: 'LOG_LEVEL', help: 'debug, info, warn or error', parse: oneOf(LOG_LEVELS), fallback: () => 'info' },
  logFormat: { flag: 'log-format', env: 'LOG_FORMAT', help: "'text' or 'json' log lines (default: text on a terminal, else json)", parse: oneOf(['text', 'json'] as const), fallback: () => (process.stdout.isTTY ? 'text' : 'json') },
};

export const HELP = `Usage: npm start -- [options]   (or: node dist/server/main.js [options])

Real-time speech-to-text over WebSocket: ws://HOST:PORT/stream and /speech (docs/PROTOCOL.md),
GET /healthz, GET /readyz, GET /stats, GET /metrics (Prometheus).
Each option can also be set by its environment variable; the command line wins.

${Object.values(SETTINGS)
  .map((s) => `  --${`${s.flag} <value>`.padEnd(28)} ${s.env.padEnd(20)} ${s.help}`)
  .join('\n')}
  --help
`;

/** Settings from the environment, overridden by command-line flags. Throws ConfigError with a readable message. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig | 'help' {
  let flags: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.values(SETTINGS).map((s) => [s.flag, { type: 'string' as const }]));
    flags = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' } }, strict: true }).values;
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  if (flags['help']) return 'help';
  const config: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(SETTINGS)) {
    const flag = flags[setting.flag];
    const fromEnv = env[setting.env];
    if (typeof flag === 'string') config[key] = setting.parse(flag, `--${setting.flag}`);
    else if (fromEnv !== undefined && fromEnv !== '') config[key] = setting.parse(fromEnv, setting.env);
    else config[key] = setting.fallback();
  }
  return config as unknown as ServerConfig;
}
