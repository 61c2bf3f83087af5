/**
 * Where OpenAI Realtime clients put their key: `Authorization: Bearer <key>`, or in browsers, which cannot set headers,
 * the subprotocols `["realtime", "openai-insecure-api-key.<key>"]`.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { extractCredential } from './credential.js';

/** The subprotocol OpenAI's browser client offers first; the server answers with it. */
export const REALTIME_SUBPROTOCOL = 'realtime';
const KEY_SUBPROTOCOL_PREFIX = 'openai-insecure-api-key.';

export const MISSING_REALTIME_CREDENTIAL =
  'missing credential: send Authorization: Bearer <key or JWT>, or (browsers) the subprotocol ' +
  'openai-insecure-api-key.<key or JWT>';

export function realtimeCredential(req: IncomingMessage, query: URLSearchParams): string | undefined {
  return extractCredential(req, query)?.token ?? browserKey(req.headers);
}

/** The key or client secret in the headers alone, as OpenAI's clients send it: `Bearer`, or the browser subprotocol. */
export function realtimeHeaderCredential(headers: IncomingHttpHeaders): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1] ?? browserKey(headers);
}

function browserKey(headers: IncomingHttpHeaders): string | undefined {
  const protocols = (headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const key = protocols.find((p) => p.startsWith(KEY_SUBPROTOCOL_PREFIX))?.slice(KEY_SUBPROTOCOL_PREFIX.length);
  return key || undefined;
}
