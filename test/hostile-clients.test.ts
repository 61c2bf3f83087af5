// Hostile and careless clients: every input is bounded before it costs anything, a connection that misbehaves is
// closed, abandoned sessions crowd out nobody, and nothing one client does harms another (bench/attack measures the
// rest: fairness under load and memory).
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import t from 'tap';
import WebSocket from 'ws';
import { encodeWav, fixturesDir } from '../engine/index.js';
import { StreamClient } from '../bench/lib/raw-stream-client.js';
import { pollUntil } from '../bench/lib/wait.js';
import { ConfigError, loadConfig } from '../server/config.js';
import { speech } from './helpers/engine-fixtures.js';
import { startTestServer } from './helpers/stream-server.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { within } from '../bench/lib/wait.js';

const jfkFile = readFileSync(join(fixturesDir, 'speech', 'jfk.wav'));
const jfk = speech('jfk.wav');

function upload(
  url: string,
  fields: Record<string, string>,
  file: Uint8Array = jfkFile,
  headers: Record<string, string> = {},
): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(file)], { type: 'audio/wav' }), 'audio.wav');
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form, headers });
}

/** Resolves once the server's session counts satisfy `ready` (a dropped connection takes a moment to be noticed). */
async function stats(url: string, ready: (sessions: { attached: number; detached: number }) => boolean): Promise<void> {
  const sessions = async (): Promise<{ attached: number; detached: number }> =>
    ((await (await fetch(`${url}/stats`)).json()) as { sessions: { attached: number; detached: number } }).sessions;
  await pollUntil(sessions, ready, { intervalMs: 0 });
}

/** A WAV header that claims `sampleRate`, over 64 KB of samples. */
function wavClaiming(sampleRate: number): Uint8Array {
  const wav = encodeWav(new Int16Array(32 * 1024), 16000);
  new DataView(wav.buffer).setUint32(24, sampleRate, true);
  return wav;
}

t.test('uploads: a 50,000-letter prompt and a WAV claiming 1 Hz get a clear 400, and the server goes on', async (t) => {
  const app = await startTestServer({ MAX_UPLOAD_BYTES: String(jfkFile.length * 2) });
  t.teardown(() => app.close());
  const prompt = await upload(app.httpUrl, { prompt: 'a'.repeat(50_000) });
  t.equal(prompt.status, 400);
  t.match(await prompt.json(), { error: { code: 'prompt_too_long', param: 'prompt', type: 'invalid_request_error' } });
  const oneHz = await upload(app.httpUrl, {}, wavClaiming(1));
  t.equal(oneHz.status, 400);
  t.match(await oneHz.json(), {
    error: { code: 'unsupported_audio', message: /1 Hz; sample rates from 8000 to 192000 Hz/ },
  });
  const huge = await upload(app.httpUrl, {}, wavClaiming(1_000_000));
  t.equal(huge.status, 400, 'and one claiming 1 MHz');
  t.equal((await fetch(`${app.httpUrl}/healthz`)).status, 200, 'alive');
  t.equal((await upload(app.httpUrl, { prompt: 'Ask not.' })).status, 200, 'and still transcribing');
});

t.test(
  'uploads: longer than MAX_UPLOAD_SECONDS is 413; beyond the queue 503 with Retry-After; per client 429',
  async (t) => {
    const app = await startTestServer({
      MAX_UPLOAD_SECONDS: '5',
      UPLOAD_CONCURRENCY: '1',
      UPLOAD_QUEUE: '1',
      UPLOADS_PER_PRINCIPAL: '2',
    });
    t.teardown(() => app.close());
    const long = await upload(app.httpUrl, {});
    t.equal(long.status, 413);
    t.match(await long.json(), { error: { code: 'audio_too_long' } });
    const short = encodeWav(jfk.subarray(0, 16000 * 4));
    const responses = await Promise.all([
      upload(app.httpUrl, {}, short),
      upload(app.httpUrl, {}, short),
      upload(app.httpUrl, {}, short),
    ]);
    const statuses = responses.map((r) => r.status).sort();
    t.same(statuses, [200, 200, 429], 'two of one client run (one running, one queued), the third is over its quota');
    const refused = responses.find((r) => r.status === 429);
    t.equal(refused?.headers.get('retry-after'), '5');
    t.match(await refused?.json(), { error: { code: 'rate_limit_exceeded', type: 'rate_limit_error' } });
  },
);

t.test(
  'a flood of 1-byte frames is closed with 1008 after the error limit; another client is unaffected',
  async (t) => {
    const app = await startTestServer({ MAX_ERRORS_PER_S: '5' });
    t.teardown(() => app.close());
    const victim = await StreamClient.connect(app.streamUrl);
    const flood = await StreamClient.connect(app.streamUrl);
    await flood.session();
    for (let i = 0; i < 200 && flood.ws.readyState === WebSocket.OPEN; i++) flood.sendBytes(new Uint8Array(1));
    const closed = await flood.closed;
    t.equal(closed.code, 1008, 'policy violation');
    const errors = flood.errors();
    t.ok(errors.length <= 6, `at most the limit of error replies (${errors.length}), then one rate_limited`);
    t.match(errors.at(-1), { code: 'rate_limited' });
    await victim.stream(jfk.subarray(0, 16000 * 3), { speed: 4, frameMs: 20 });
    t.equal((await victim.end()).code, 1000);
    t.ok(
      victim.transcripts().some((m) => m['is_final'] === true),
      'the other session got its final',
    );
  },
);

t.test(
  'floods of one-sample and empty frames are closed with 1008 after the message budget; the server goes on',
  async (t) => {
    const app = await startTestServer();
    t.teardown(() => app.close());
    for (const bytes of [2, 0]) {
      const client = await StreamClient.connect(app.streamUrl);
      await client.session();
      // 1 ms frames at the audio burst: 11,000 messages at once; a flood sends more, as fast as it can.
      for (let i = 0; i < 20_000 && client.ws.readyState === WebSocket.OPEN; i++)
        client.sendBytes(new Uint8Array(bytes));
      t.equal(
        (await within(client.closed, `the ${bytes}-byte flood to be closed`, 10_000)).code,
        1008,
        `${bytes}-byte frames`,
      );
      t.match(client.errors().at(-1), { code: 'rate_limited', message: /more than 1500 messages a second/ });
    }
    t.equal((await fetch(`${app.httpUrl}/healthz`)).status, 200, 'alive');
  },
);

t.test('error replies quote at most a short excerpt of what was sent', async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  const client = await StreamClient.connect(app.streamUrl);
  await client.session();
  client.sendJson({ type: 'x'.repeat(10_000) });
  const error = await client.waitFor((m) => m['type'] === 'error');
  t.equal(error['code'], 'unknown_type');
  t.ok(String(error['message']).length < 200, `a ${String(error['message']).length}-character message`);
  // A value the session core judges (not the protocol's parser) is quoted short as well.
  client.sendJson({ language: 'x'.repeat(10_000) });
  const language = await client.waitFor((m) => m['type'] === 'error' && m['code'] === 'unknown_language');
  t.ok(
    String(language['message']).length < 200,
    `a ${String(language['message']).length}-character message about the language`,
  );
  client.ws.close();
});

t.test('audio faster than MAX_AUDIO_RATE after its burst is read more slowly, and none of it is lost', async (t) => {
  const app = await startTestServer({ AUDIO_BURST_MS: '1000', MAX_AUDIO_RATE: '4' });
  t.teardown(() => app.close());
  const client = await StreamClient.connect(app.streamUrl);
  await client.session();
  const audio = jfk.subarray(0, 16000 * 6);
  for (let at = 0; at < audio.length; at += 8000)
    client.sendBytes(new Uint8Array(audio.buffer, audio.byteOffset + at * 2, Math.min(8000, audio.length - at) * 2));
  t.equal((await client.end()).code, 1000);
  const acks = client.messages.filter((m) => m.data['type'] === 'ack').map((m) => m.data['audio_ms'] as number);
  t.equal(acks.at(-1), 6000, 'every sample received');
  const metrics = await (await fetch(`${app.httpUrl}/metrics`)).text();
  t.match(metrics, /stt_reads_paced_total [1-9]/, 'the sender was paced');
});

t.test(
  'abandoned sessions: live ones alone count against MAX_SESSIONS, detached ones have quotas of their own',
  async (t) => {
    const app = await startTestServer({ MAX_SESSIONS: '1', MAX_DETACHED_PER_PRINCIPAL: '1' });
    t.teardown(() => app.close());
    const first = await StreamClient.connect(app.streamUrl);
    const firstSession = await first.session();
    first.drop();
    await stats(app.httpUrl, (s) => s.detached === 1);
    const second = await StreamClient.connect(app.streamUrl);
    const secondSession = await second.session();
    t.ok(secondSession.session_id, 'a new session starts although the dropped one still waits for its resume');
    second.drop();
    await stats(app.httpUrl, (s) => s.attached === 0 && s.detached === 1);
    // The quota of one waiting session per client ended the first: the second is its newest.
    const retry = await StreamClient.connect(
      `${app.streamUrl}?session_id=${firstSession.session_id}&resume_token=${firstSession.resume_token}`,
    );
    t.match(await retry.waitFor((m) => m['type'] === 'error'), { code: 'resume_failed', message: /no such session/ });
    retry.ws.close();
    const back = await StreamClient.connect(
      `${app.streamUrl}?session_id=${secondSession.session_id}&resume_token=${secondSession.resume_token}`,
    );
    t.match(
      await back.waitFor((m) => m['type'] === 'resumed'),
      { session_id: secondSession.session_id },
      'the newest waiting one resumes',
    );
    back.ws.close(1000);
  },
);

t.test('a resume claiming transcripts the session never sent is refused', async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  const client = await StreamClient.connect(app.streamUrl);
  const { session_id, resume_token } = await client.session();
  client.drop();
  for (const lastSeq of [1_000_000, Number.MAX_SAFE_INTEGER]) {
    const bogus = await StreamClient.connect(
      `${app.streamUrl}?session_id=${session_id}&resume_token=${resume_token}&last_seq=${lastSeq}`,
    );
    t.match(
      await bogus.waitFor((m) => m['type'] === 'error'),
      { code: 'resume_failed', message: /is ahead of the session/ },
      `last_seq ${lastSeq}`,
    );
    bogus.drop();
  }
});

t.test('JWTs: the subject must be a non-empty string, the lifetime bounded, the secret long enough', async (t) => {
  const secret = 'x'.repeat(32);
  t.throws(() => loadConfig([], { JWT_SECRET: 'a' }), ConfigError, 'a short secret is refused at start-up');
  const app = await startTestServer({ JWT_SECRET: secret, JWT_MAX_LIFETIME_S: '3600' });
  t.teardown(() => app.close());
  const key = new TextEncoder().encode(secret);
  const sign = (claims: Record<string, unknown>, expiresIn: string): Promise<string> =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(expiresIn).sign(key);
  const status = async (token: string): Promise<number> => {
    const ws = new WebSocket(app.streamUrl, { headers: { authorization: `Bearer ${token}` } });
    const result = await Promise.race([
      once(ws, 'open').then(() => 101),
      once(ws, 'unexpected-response').then(([, res]) => (res as { statusCode: number }).statusCode),
    ]);
    ws.terminate();
    return result;
  };
  t.equal(await status(await sign({ sub: 'alice' }, '1h')), 101, 'a valid token');
  t.equal(await status(await sign({ sub: { id: 'alice' } }, '1h')), 401, 'an object subject');
  t.equal(await status(await sign({ sub: 42 }, '1h')), 401, 'a number subject');
  t.equal(await status(await sign({ sub: '' }, '1h')), 401, 'an empty subject');
  t.equal(await status(await sign({ sub: 'alice' }, '2h')), 401, 'a lifetime beyond JWT_MAX_LIFETIME_S');
});

t.test('browser pages of other origins may not connect or upload; programs and the page itself may', async (t) => {
  const app = await startTestServer({ ALLOWED_ORIGINS: 'https://app.example.com' });
  t.teardown(() => app.close());
  const own = app.httpUrl;
  const handshake = async (origin: string | undefined): Promise<number> => {
    const ws = new WebSocket(app.streamUrl, origin ? { origin } : {});
    const result = await Promise.race([
      once(ws, 'open').then(() => 101),
      once(ws, 'unexpected-response').then(([, res]) => (res as { statusCode: number }).statusCode),
    ]);
    ws.terminate();
    return result;
  };
  t.equal(await handshake('http://evil.example'), 403, 'another site');
  t.equal(await handshake(undefined), 101, 'no Origin: a program');
  t.equal(await handshake(own), 101, 'the server’s own page');
  t.equal(await handshake('https://app.example.com'), 101, 'an allowed origin');
  const short = encodeWav(jfk.subarray(0, 16000));
  const evil = await upload(app.httpUrl, {}, short, { origin: 'http://evil.example' });
  t.equal(evil.status, 403);
  t.match(await evil.json(), { error: { code: 'forbidden_origin' } });
  t.equal((await upload(app.httpUrl, {}, short)).status, 200, 'an upload without Origin');
});

t.test('shutdown does not wait for ever on a client that does not read', async (t) => {
  const warnings: string[] = [];
  const app = await startTestServer({ SHUTDOWN_TIMEOUT_MS: '5000', LOG_LEVEL: 'warn' }, (line) => warnings.push(line));
  const proxy = await TcpProxy.start(app.port);
  t.teardown(() => proxy.close());
  const client = await StreamClient.connect(app.streamUrl.replace(/:\d+\//, `:${proxy.port}/`));
  await client.session();
  await client.stream(jfk.subarray(0, 16000 * 2), { speed: 4, frameMs: 20 });
  // The client stops reading: its finals and close frame can never be delivered.
  proxy.stall();
  await app.close();
  // Its finals are written by then, but it never answers the close frame: the deadline, not ws's 30 s close
  // timeout, is what lets shutdown finish.
  t.ok(
    warnings.some((line) => line.includes('shutdown deadline passed') && line.includes('"connections":1')),
    'the deadline dropped the connection that would not close',
  );
});
