/** The HTTP answer to a WebSocket upgrade the server refuses, and the subprotocol of one it accepts. */
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';

export async function refusedUpgrade(
  url: string,
  options: WebSocket.ClientOptions = {},
  protocols: string[] = [],
): Promise<{ status: number; body: Record<string, unknown> }> {
  const ws = new WebSocket(url, protocols, options);
  const [, response] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
  let text = '';
  for await (const chunk of response) text += String(chunk);
  return { status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> };
}

/** Opens a socket, reports the subprotocol the server chose, and closes it normally. */
export async function acceptedProtocol(
  url: string,
  options: WebSocket.ClientOptions = {},
  protocols: string[] = [],
): Promise<string> {
  const ws = new WebSocket(url, protocols, options);
  await once(ws, 'open');
  const protocol = ws.protocol;
  ws.close(1000);
  await once(ws, 'close');
  return protocol;
}

/**
 * A refusal after the upgrade, as some protocols make one: the messages the socket got before the server closed it,
 * and the close code and reason.
 */
export async function refusedAfterUpgrade(
  url: string,
  options: WebSocket.ClientOptions = {},
  protocols: string[] = [],
): Promise<{ code: number; reason: string; messages: Record<string, unknown>[] }> {
  const ws = new WebSocket(url, protocols, options);
  const messages: Record<string, unknown>[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
  const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
  return { code, reason: String(reason), messages };
}
