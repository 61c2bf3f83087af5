import type { IncomingMessage } from 'node:http';

/** Browsers cannot set headers on a WebSocket, so they pass `new WebSocket(url, ['bearer', token])`. */
export const BEARER_SUBPROTOCOL = 'bearer';

export interface Credential {
  token: string;
  via: 'authorization' | 'subprotocol' | 'query';
}

/**
 * The credential an upgrade or HTTP request carries, looked for in the header, the subprotocol list, then `?token=`.
 */
export function extractCredential(req: IncomingMessage, query: URLSearchParams): Credential | undefined {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1]) return { token: match[1], via: 'authorization' };
  }
  const fromProtocol = subprotocolAfter(req, BEARER_SUBPROTOCOL);
  if (fromProtocol) return { token: fromProtocol, via: 'subprotocol' };
  const fromQuery = query.get('token');
  if (fromQuery) return { token: fromQuery, via: 'query' };
  return undefined;
}

/** The subprotocol that follows `name` in an upgrade's list: how browsers pass a credential as `[name, credential]`. */
export function subprotocolAfter(req: IncomingMessage, name: string): string | undefined {
  const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const at = protocols.indexOf(name);
  return at >= 0 ? protocols[at + 1] || undefined : undefined;
}
