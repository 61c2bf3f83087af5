import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import t from 'tap';
import WebSocket from 'ws';
import { projectRoot } from '../engine/index.js';
import { hashApiKey } from '../server/auth/authenticator.js';
import { StreamClient } from '../bench/lib/raw-stream-client.js';
import { startTestServer } from './helpers/stream-server.js';

const API_KEY = 'test-key-0123456789';
const SECRET = 'a-test-secret-of-reasonable-length';

const jwt = (sub: string, expiresAt: number): Promise<string> =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(expiresAt)
    .sign(new TextEncoder().encode(SECRET));
const inAnHour = (): number => Math.floor(Date.now() / 1000) + 3600;

const app = await startTestServer({ API_KEY_HASHES: hashApiKey(API_KEY), JWT_SECRET: SECRET });
t.teardown(() => app.close());

/** The HTTP answer to an upgrade the server refuses. */
async function refused(
  url: string,
  options: WebSocket.ClientOptions = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const ws = new WebSocket(url, options);
  const [, response] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
  let text = '';
  for await (const chunk of response) text += String(chunk);
  return { status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> };
}

const activeSessions = async (): Promise<number> =>
  ((await (await fetch(`${app.httpUrl}/stats`)).json()) as { sessions: { active: number } }).sessions.active;

t.test('missing, wrong and expired credentials get 401 before any session exists', async (t) => {
  t.match(await refused(app.streamUrl), {
    status: 401,
    body: { error: 'unauthorized', message: /missing credential/ },
  });
  t.match(await refused(app.streamUrl, { headers: { authorization: 'Bearer not-the-key' } }), {
    status: 401,
    body: { message: 'invalid credential' },
  });
  t.match(await refused(`${app.streamUrl}?token=${await jwt('alice', Math.floor(Date.now() / 1000) - 60)}`), {
    status: 401,
    body: { message: 'token expired' },
  });
  const forged = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setExpirationTime(inAnHour())
    .sign(new TextEncoder().encode('another secret'));
  t.match(await refused(`${app.streamUrl}?token=${forged}`), { status: 401, body: { message: /invalid token/ } });
  t.equal(await activeSessions(), 0, 'no session was created');
});

t.test('a key in the header, a key as subprotocol, a JWT in the query string', async (t) => {
  const byHeader = await StreamClient.connect(app.streamUrl, { headers: { authorization: `Bearer ${API_KEY}` } });
  t.ok((await byHeader.session()).session_id);
  const bySubprotocol = await StreamClient.connect(app.streamUrl, {}, ['bearer', API_KEY]);
  t.equal(bySubprotocol.ws.protocol, 'bearer', 'the server selects the bearer subprotocol');
  t.ok((await bySubprotocol.session()).session_id);
  const byQuery = await StreamClient.connect(`${app.streamUrl}?token=${await jwt('alice', inAnHour())}`);
  t.ok((await byQuery.session()).session_id);
  for (const client of [byHeader, bySubprotocol, byQuery]) t.equal((await client.end()).code, 1000);
});

t.test('/speech and the file API ask for the same credentials', async (t) => {
  const speechUrl = app.streamUrl.replace(/\/stream$/, '/speech');
  t.match(await refused(speechUrl), { status: 401, body: { error: 'unauthorized', message: /missing credential/ } });
  const client = await StreamClient.connect(speechUrl, { headers: { authorization: `Bearer ${API_KEY}` } });
  client.sendJson({ type: 'start' });
  t.match(await client.waitFor((m) => m['event'] === 'started'), { event: 'started' });
  client.sendJson({ type: 'stop' });
  await client.waitFor((m) => m['event'] === 'stopped');
  client.ws.close(1000);
  await client.closed;
  const upload = await fetch(`${app.httpUrl}/v1/audio/transcriptions`, { method: 'POST', body: new FormData() });
  t.equal(upload.status, 401, 'an upload without a credential is refused');
});

t.test('a resume token works only for the principal that created the session', async (t) => {
  const alice = await StreamClient.connect(`${app.streamUrl}?token=${await jwt('alice', inAnHour())}`);
  const session = await alice.session();
  const resume = `session_id=${session.session_id}&resume_token=${session.resume_token}`;

  const bob = await StreamClient.connect(`${app.streamUrl}?token=${await jwt('bob', inAnHour())}&${resume}`);
  t.match(await bob.waitFor((m) => m['type'] === 'error'), { code: 'resume_failed', message: /another principal/ });
  const byKey = await StreamClient.connect(`${app.streamUrl}?${resume}`, {
    headers: { authorization: `Bearer ${API_KEY}` },
  });
  t.match(await byKey.waitFor((m) => m['type'] === 'error'), { code: 'resume_failed', message: /another principal/ });
  t.match(
    await refused(`${app.streamUrl}?${resume}`),
    { status: 401 },
    'and without a credential there is no resume at all',
  );

  const aliceAgain = await StreamClient.connect(`${app.streamUrl}?token=${await jwt('alice', inAnHour())}&${resume}`);
  t.match(
    await aliceAgain.waitFor((m) => m['type'] === 'resumed'),
    { session_id: session.session_id },
    'alice with a new JWT may',
  );
  t.equal((await alice.closed).code, 4001);
  for (const client of [bob, byKey, aliceAgain]) t.equal((await client.end()).code, 1000);
});

t.test('scripts/hash-api-key prints the digest API_KEY_HASHES expects', async (t) => {
  const script = join(projectRoot, 'dist/scripts/hash-api-key.js');
  t.equal(execFileSync(process.execPath, [script, API_KEY], { encoding: 'utf8' }).trim(), hashApiKey(API_KEY));
  t.equal(
    execFileSync(process.execPath, [script], { input: `${API_KEY}\n`, encoding: 'utf8' }).trim(),
    hashApiKey(API_KEY),
    'from stdin',
  );
});
