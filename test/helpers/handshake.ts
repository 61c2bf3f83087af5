/** The HTTP answer to a WebSocket upgrade the server refuses, and the subprotocol of one it accepts. */
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';

export async function refusedUpgrade(url: string, options: WebSocket.ClientOptions = {}, protocols: string[] = []): Promise<{ status: number; body: Record<string, unknown> }> {
  const ws = new WebSocket(url, protocols, options);
  const [, response] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
  let text = '';
  for await (const chunk of response) text += String(chunk);
  return { status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> };
}

/** Opens a socket, reports the subprotocol the server chose, and closes it normally. */
export async function acceptedProtocol(url: string, options: WebSocket.ClientOptions = {}, protocols: string[] = []): Promise<string> {
  const ws = new WebSocket(url, protocols, options);
  await once(ws, 'open');
  const protocol = ws.protocol;
  ws.close(1000);
  await once(ws, 'close');
  return protocol;
}
