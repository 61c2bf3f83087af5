/** Writing small HTTP answers: JSON bodies, and refusals of WebSocket upgrades on the raw socket. */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Refusal, RefusalCode, StatusOf } from '../../protocol/http-errors.js';

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(payload);
}

/** A refusal of a plain HTTP request: its status is the one protocol/http-errors.ts gives its code. */
export function refuse<C extends RefusalCode>(
  res: ServerResponse,
  status: NoInfer<StatusOf<C>>,
  body: Refusal<C>,
  headers: Record<string, string> = {},
): void {
  json(res, status, body, headers);
}

/** OpenAI's error shape, which every /v1/ route answers in. */
export function openAiError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  param: string | null = null,
  headers: Record<string, string> = {},
): void {
  const type =
    status === 429
      ? 'rate_limit_error'
      : status >= 500
        ? 'server_error'
        : status === 401
          ? 'authentication_error'
          : 'invalid_request_error';
  json(res, status, { error: { message, type, param, code } }, headers);
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** A drop-in protocol's own body for a refusal (its clients parse that, not ours). */
export type RefusalShape = (status: number, body: Refusal<RefusalCode>) => unknown;

/**
 * A refused WebSocket upgrade: its status is the one protocol/http-errors.ts gives its code; `shape`, where the route
 * has one, writes the body in its protocol's form.
 */
export function refuseUpgrade<C extends RefusalCode>(
  socket: Duplex,
  status: NoInfer<StatusOf<C>>,
  body: Refusal<C>,
  headers: Record<string, string> = {},
  shape?: RefusalShape,
): void {
  const payload = JSON.stringify(shape ? shape(status, body) : body);
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: ` +
      `application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n${extra}\r\n${payload}`,
  );
}
