// The default socket in Node: the `ws` package behind the WebSocketLike surface, which also reports what browsers
// hide, a refused handshake's status and body. Loaded only by a dynamic import, so browsers never fetch it.
import { WebSocket } from 'ws';
import { HandshakeError, MAX_HANDSHAKE_BODY, parseHandshakeBody, parseRetryAfter } from './errors.js';
import type { WebSocketLike } from './socket.js';

/** How long a refusal's body may take to arrive before the refusal is reported with what came. */
const BODY_TIMEOUT_MS = 2000;

/**
 * A `ws` client socket with browser-style handlers. When the server answers the upgrade with an HTTP error, onerror
 * receives `{ error: HandshakeError }` (status, body, Retry-After), then onclose gets 1006; other failures pass ws's
 * own error (ECONNREFUSED, ENOTFOUND, ...) as `{ error }`.
 */
export class NodeWebSocket implements WebSocketLike {
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  private readonly ws: WebSocket;
  private refusal: HandshakeError | undefined;

  constructor(url: string, protocols?: string[]) {
    this.ws = new WebSocket(url, protocols);
    this.ws.binaryType = 'arraybuffer';
    this.ws.on('open', () => this.onopen?.({}));
    this.ws.on('message', (data, isBinary) => this.onmessage?.({ data: isBinary ? data : data.toString() }));
    this.ws.on('close', (code, reason) => this.onclose?.({ code, reason: reason.toString() }));
    // ws's error after an aborted refusal only says the handshake was cut short; the refusal says why.
    this.ws.on('error', (error) => this.onerror?.({ error: this.refusal ?? error }));
    this.ws.on('unexpected-response', (_request, response) => {
      void readCapped(response).then((text) => {
        const retryAfter = response.headers['retry-after'];
        this.refusal = new HandshakeError(
          response.statusCode ?? 0,
          parseHandshakeBody(text),
          parseRetryAfter(retryAfter),
          response.statusMessage,
        );
        this.ws.terminate();
      });
    });
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  get binaryType(): string {
    return this.ws.binaryType;
  }

  set binaryType(value: string) {
    if (value === 'arraybuffer' || value === 'nodebuffer' || value === 'fragments') this.ws.binaryType = value;
  }

  send(data: string | ArrayBufferView | ArrayBuffer): void {
    this.ws.send(data);
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }
}

/** Reads a response body up to MAX_HANDSHAKE_BODY bytes or BODY_TIMEOUT_MS, whichever comes first. */
function readCapped(response: NodeJS.ReadableStream & { destroy(): void }): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let finished = false;
    const done = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      response.destroy();
      resolve(Buffer.concat(chunks).subarray(0, MAX_HANDSHAKE_BODY).toString('utf8'));
    };
    const timer = setTimeout(done, BODY_TIMEOUT_MS);
    response.on('data', (chunk: Buffer) => {
      if (finished) return;
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_HANDSHAKE_BODY) done();
    });
    response.once('end', done);
    response.once('error', done);
  });
}
