// The server's logger: one line per event, as JSON for machines or as readable text for a terminal (LOG_FORMAT).
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line, e.g. a session id. */
  child(fields: LogFields): Logger;
}

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/**
 * Lines at `level` and above. `json`: `{"time", "level", "msg", ...fields}`. `text`:
 * `2026-12-01T15:00:00Z info listening host=127.0.0.1 port=8080`, with stacks and other values of several lines below
 * it.
 * An Error field shows its message once, with its code, and its stack only where it helps: at error level (something
 * broke that should not have) or when logging at debug level.
 */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line),
  format: LogFormat = 'json',
): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const render = format === 'json' ? jsonLine : textLine;
  const make = (base: LogFields): Logger => {
    const log = (at: LogLevel, msg: string, fields?: LogFields): void => {
      if (LOG_LEVELS.indexOf(at) < min) return;
      const withStack = at === 'error' || level === 'debug';
      write(render(new Date(), at, msg, { ...base, ...fields }, withStack));
    };
    return {
      debug: (msg, fields) => log('debug', msg, fields),
      info: (msg, fields) => log('info', msg, fields),
      warn: (msg, fields) => log('warn', msg, fields),
      error: (msg, fields) => log('error', msg, fields),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make({});
}

interface ErrorSummary {
  name?: string;
  message: string;
  code?: string | number;
  stack?: string;
}

/** The stack's frames without its first line, which only repeats the name and message. */
export function stackFrames(error: Error): string | undefined {
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  return frames.length > 0 ? frames.join('\n') : undefined;
}

// Error objects serialise to {} by default, which would hide exactly what a log reader needs.
function summarise(error: Error, withStack: boolean): ErrorSummary {
  const code =
    'code' in error && (typeof error.code === 'string' || typeof error.code === 'number') ? error.code : undefined;
  const stack = withStack ? stackFrames(error) : undefined;
  return {
    ...(error.name !== 'Error' ? { name: error.name } : {}),
    message: error.message,
    ...(code !== undefined ? { code } : {}),
    ...(stack !== undefined ? { stack } : {}),
  };
}

function jsonLine(time: Date, level: LogLevel, msg: string, fields: LogFields, withStack: boolean): string {
  const replacer = (_key: string, value: unknown): unknown =>
    value instanceof Error ? summarise(value, withStack) : value;
  return `${JSON.stringify({ time: time.toISOString(), level, msg, ...fields }, replacer)}\n`;
}

function textLine(time: Date, level: LogLevel, msg: string, fields: LogFields, withStack: boolean): string {
  const parts = [`${time.toISOString().replace(/\.\d+Z$/, 'Z')} ${level} ${msg}`];
  const below: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (typeof value === 'string' && value.includes('\n')) {
      below.push(value);
      continue;
    }
    if (!(value instanceof Error)) {
      parts.push(`${key}=${textValue(value)}`);
      continue;
    }
    const { name, message, code, stack } = summarise(value, withStack);
    parts.push(`${key}=${textValue(name ? `${name}: ${message}` : message)}`);
    if (code !== undefined) parts.push(`${key}.code=${code}`);
    if (stack !== undefined) below.push(stack);
  }
  return `${[parts.join(' '), ...below].join('\n')}\n`;
}

/** Bare when it reads unambiguously (no spaces, quotes or `=`), else JSON. */
function textValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return (
    JSON.stringify(value, (_key: string, inner: unknown) =>
      inner instanceof Error ? summarise(inner, false) : inner,
    ) ?? String(value)
  );
}
