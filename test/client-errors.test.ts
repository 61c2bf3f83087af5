// The client library's typed connection errors against real servers: refused handshakes (401, 503) as
// HandshakeError with the server's explanation, nothing listening as ConnectionError, and refusals during a resume.
import { createServer } from 'node:net';
import t from 'tap';
import { ConnectionError, HandshakeError, StreamClient, type ClosedEvent } from '../client/index.js';
import { NodeWebSocket } from '../client/node-socket.js';
import { hashApiKey } from '../server/auth/authenticator.js';
import { startTestServer } from './helpers/stream-server.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

const LIGHT = { POOL_SIZE: '1', THREADS_PER_TASK: '1' };

/** A port with nothing listening: one the OS just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const closedOnce = (client: StreamClient): Promise<ClosedEvent> =>
  new Promise((resolve) => client.on('closed', resolve));

t.test(
  'a server with authentication refuses a client without a credential: HandshakeError 401 with its message',
  async (t) => {
    const app = await startTestServer({ ...LIGHT, API_KEY_HASHES: hashApiKey('the-key-0123456789') });
    t.teardown(() => app.close());
    const client = new StreamClient(app.streamUrl);
    const closed = closedOnce(client);
    const error = await client.connect().then(
      () => t.fail('connected without a credential'),
      (e: unknown) => e,
    );
    t.type(error, HandshakeError);
    t.match(error, {
      status: 401,
      body: { error: 'unauthorized', message: /^missing credential/ },
      retryAfterS: undefined,
    });
    t.match(error, {
      message: /^the server refused the connection: 401 unauthorized: missing credential: send Authorization/,
    });
    t.equal((await closed).error, error, 'the closed event carries the same error');

    const withKey = new StreamClient(app.streamUrl, { token: 'the-key-0123456789' });
    await withKey.connect();
    t.equal((await withKey.end()).code, 1000, 'the right key is let in');
  },
);

t.test('a server at MAX_SESSIONS refuses a new client: HandshakeError 503 with Retry-After 5', async (t) => {
  const app = await startTestServer({ ...LIGHT, MAX_SESSIONS: '1' });
  t.teardown(() => app.close());
  const first = new StreamClient(app.streamUrl);
  await first.connect();
  t.teardown(() => first.close());
  const error = await new StreamClient(app.streamUrl).connect().then(
    () => t.fail('a second session was created'),
    (e: unknown) => e,
  );
  t.type(error, HandshakeError);
  t.match(error, { status: 503, retryAfterS: 5, body: { error: 'too many sessions', retry_after_s: 5 } });
  t.match(error, { message: 'the server refused the connection: 503 too many sessions; retry after 5 s' });
});

t.test('nothing listening: ConnectionError with the system error code, not a HandshakeError', async (t) => {
  const port = await closedPort();
  const error = await new StreamClient(`ws://127.0.0.1:${port}/stream?token=secret`).connect().then(
    () => t.fail('connected to nothing'),
    (e: unknown) => e,
  );
  t.type(error, ConnectionError);
  t.notOk(error instanceof HandshakeError);
  t.match(error, {
    code: 'ECONNREFUSED',
    message: `cannot connect to ws://127.0.0.1:${port}/stream: connect ECONNREFUSED 127.0.0.1:${port}`,
  });
  t.notMatch(error, { message: /secret/ }, 'query strings (tokens) stay out of the message');
});

/**
 * A client whose first connection goes through a proxy to `first`, and whose reconnects (they carry the resume query)
 * go to `resumeTo`; `stripResume` turns them into plain new connections there.
 */
function routedClient(firstUrl: string, resumeTo: string, stripResume: boolean): StreamClient {
  return new StreamClient(firstUrl, {
    reconnectDelayMs: 20,
    webSocket: (url, protocols) => {
      const target = new URL(url);
      if (!target.searchParams.has('session_id')) return new NodeWebSocket(url, protocols);
      const rerouted = new URL(resumeTo);
      if (!stripResume) rerouted.search = target.search;
      return new NodeWebSocket(rerouted.toString(), protocols);
    },
  });
}

t.test('a reconnect refused with 401 stops reconnecting and ends the client with the HandshakeError', async (t) => {
  const open = await startTestServer(LIGHT);
  t.teardown(() => open.close());
  const locked = await startTestServer({ ...LIGHT, API_KEY_HASHES: hashApiKey('the-key-0123456789') });
  t.teardown(() => locked.close());
  const proxy = await TcpProxy.start(Number(new URL(open.streamUrl).port));
  t.teardown(() => proxy.close());

  const client = routedClient(open.streamUrl.replace(/:\d+\//, `:${proxy.port}/`), locked.streamUrl, false);
  const reconnects: number[] = [];
  client.on('reconnecting', (r) => reconnects.push(r.attempt));
  const closed = closedOnce(client);
  await client.connect();
  proxy.cut();
  const event = await closed;
  t.type(event.error, HandshakeError);
  t.match(event.error, { status: 401, body: { message: /missing credential/ } });
  t.same(reconnects, [1], 'one reconnect attempt, none after the 401');
  t.match(await client.end(), { error: event.error }, 'end() reports the same ending');
});

t.test('a reconnect refused with 503 waits Retry-After before the next attempt', async (t) => {
  const open = await startTestServer(LIGHT);
  t.teardown(() => open.close());
  const full = await startTestServer({ ...LIGHT, MAX_SESSIONS: '1' });
  t.teardown(() => full.close());
  const occupant = new StreamClient(full.streamUrl);
  await occupant.connect();
  t.teardown(() => occupant.close());
  const proxy = await TcpProxy.start(Number(new URL(open.streamUrl).port));
  t.teardown(() => proxy.close());

  const client = routedClient(open.streamUrl.replace(/:\d+\//, `:${proxy.port}/`), full.streamUrl, true);
  const second = new Promise<{ attempt: number; delayMs: number; error?: unknown }>((resolve) =>
    client.on('reconnecting', (r) => {
      if (r.attempt === 2) resolve(r);
    }),
  );
  await client.connect();
  proxy.cut();
  const retry = await second;
  client.close();
  t.type(retry.error, HandshakeError);
  t.match(retry.error, { status: 503, retryAfterS: 5 });
  t.equal(retry.delayMs, 5000, 'the backoff (40 ms) gives way to Retry-After');
});
