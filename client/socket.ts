// The socket abstraction the client runs on (browsers' WebSocket or the `ws` package), and how a socket's failure
// becomes a typed error.
import { ConnectionError, HandshakeError } from './errors.js';

/** The W3C WebSocket surface both browsers and the `ws` package provide. */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  send(data: string | ArrayBufferView | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  /**
   * A socket may pass `{ error }` (an Error, a HandshakeError, ...) to say why it failed; browsers pass nothing useful.
   */
  onerror: ((event: unknown) => void) | null;
}
export type WebSocketFactory = (url: string, protocols?: string[]) => WebSocketLike;

/**
 * In Node the `ws` package, which reports refused handshakes (status, body); elsewhere the global WebSocket. Node 22
 * has a global WebSocket too, but it hides a refusal's status like a browser does.
 */
export async function defaultFactory(): Promise<WebSocketFactory> {
  if (typeof globalThis.process?.versions?.node === 'string') {
    const { NodeWebSocket } = await import('./node-socket.js');
    return (url, protocols) => new NodeWebSocket(url, protocols);
  }
  const global = (globalThis as { WebSocket?: new (url: string, protocols?: string[]) => WebSocketLike }).WebSocket;
  if (!global) throw new ConnectionError('no WebSocket implementation: pass the webSocket option');
  return (url, protocols) => new global(url, protocols);
}

/** The typed error for a socket that failed before its session started, from what its onerror received, if anything. */
export function connectionFailure(errorEvent: unknown, url: string): HandshakeError | ConnectionError {
  const error =
    typeof errorEvent === 'object' && errorEvent !== null && 'error' in errorEvent ? errorEvent.error : undefined;
  if (error instanceof HandshakeError || error instanceof ConnectionError) return error;
  if (error instanceof Error) {
    const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
    return new ConnectionError(`cannot connect to ${url}: ${error.message}`, code, { cause: error });
  }
  return new ConnectionError(
    `cannot connect to ${url} (the browser does not say why: nothing listening, a network error, or a refused ` +
      'handshake such as 401 or 503)',
  );
}

/** The URL without its query string and credentials, fit for messages: resume tokens and ?token= stay out of logs. */
export function displayUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}
