// Why a connection to the server failed, as typed errors: the server refused the WebSocket handshake (HandshakeError),
// or no WebSocket connection came about at all (ConnectionError). Browser-safe: no Node imports.

/** The largest handshake response body kept, in characters; refusals are small JSON objects. */
export const MAX_HANDSHAKE_BODY = 4096;

/**
 * The server answered the WebSocket upgrade with an HTTP error instead of switching protocols, e.g. 401 (missing or
 * bad credential) or 503 (too many sessions, with Retry-After). Only Node reports these: browsers hide a failed
 * handshake's answer, so there the same refusal is a ConnectionError.
 */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';

  constructor(
    /** HTTP status of the refusal. */
    readonly status: number,
    /** The response body: parsed JSON when it is JSON, else its text, at most MAX_HANDSHAKE_BODY characters. */
    readonly body: unknown,
    /** Seconds the server asked the client to wait (Retry-After), when it said. */
    readonly retryAfterS?: number,
    statusText = '',
  ) {
    const retry = retryAfterS === undefined ? '' : `; retry after ${retryAfterS} s`;
    super(`the server refused the connection: ${status} ${explain(body, statusText)}${retry}`);
  }

  /** A refusal that retrying cannot change: a client error other than 408 (timeout) and 429 (too many requests). */
  get permanent(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 408 && this.status !== 429;
  }
}

/**
 * No WebSocket connection: nothing listening, a DNS or network error, or the connection closing before the server
 * announced the session. In browsers also a refused handshake (401, 503, ...), which they do not tell apart.
 */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';

  constructor(
    message: string,
    /** The system error code where the platform gives one, e.g. ECONNREFUSED or ENOTFOUND (Node only). */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `{"error": "unauthorized", "message": "..."}` as `unauthorized: ...`; text bodies as their first line. */
function explain(body: unknown, statusText: string): string {
  if (typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'string') {
    return 'message' in body && typeof body.message === 'string' ? `${body.error}: ${body.message}` : body.error;
  }
  const line = typeof body === 'string' ? (body.trim().split('\n')[0] ?? '').slice(0, 200) : '';
  return line || statusText || 'no explanation';
}

/** Retry-After in whole seconds: either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** The body of a refusal: JSON when it parses, else the (capped) text. */
export function parseHandshakeBody(text: string): unknown {
  const capped = text.slice(0, MAX_HANDSHAKE_BODY);
  try {
    return JSON.parse(capped) as unknown;
  } catch {
    return capped;
  }
}
