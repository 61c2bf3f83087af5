import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
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
  logLevel: LogLevel;
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
const oneOf =
  <T extends string>(values: readonly T[]) =>
  (value: string, name: string): T => {
    if (!(values as readonly string[]).includes(value)) throw new ConfigError(`${name} must be one of ${values.join(', ')}, got '${value}'`);
    return value as T;
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
  logLevel: { flag: 'log-level', env: 'LOG_LEVEL', help: 'debug, info, warn or error', parse: oneOf(LOG_LEVELS), fallback: () => 'info' },
};

export const HELP = `Usage: npm start -- [options]   (or: node dist/server/main.js [options])

Real-time speech-to-text over WebSocket: ws://HOST:PORT/stream (docs/PROTOCOL.md), GET /healthz, GET /readyz.
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
