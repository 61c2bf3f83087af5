/** The /speech namespace over Socket.IO, as its users call it: the official socket.io-client against a real server. */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SignJWT } from 'jose';
import t from 'tap';
import { pollUntil } from '../bench/lib/wait.js';
import { fixturesDir } from '../engine/index.js';
import { hashApiKey } from '../server/auth/authenticator.js';
import { launchWithMicrophone, noChromium } from './helpers/chromium.js';
import { audioFixture } from './helpers/audio-fixtures.js';
import { speech } from './helpers/engine-fixtures.js';
import { ConnectRefused, SpeechIoClient, type Received } from './helpers/socketio-client.js';
import { checkOrdering, type Transcript } from './helpers/stream-checks.js';
import { startTestServer } from './helpers/stream-server.js';

const KEY = 'socket-io-test-key';
const SECRET = 'a socket.io test secret of at least 32 bytes';
const app = await startTestServer({ API_KEY_HASHES: hashApiKey(KEY), JWT_SECRET: SECRET });
t.teardown(() => app.close());
const jfk = speech('jfk.wav');
const TRANSCRIPT_KEYS = ['end_ms', 'end_of_speech', 'is_final', 'language', 'segment_id', 'seq', 'start_ms', 'text'];

const jwt = (expiresAt: number): Promise<string> =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setExpirationTime(expiresAt)
    .sign(new TextEncoder().encode(SECRET));
const isTranscript = (e: Received): boolean => e.name === 'transcription-partial' || e.name === 'transcription-final';
const errorCodes = (client: SpeechIoClient): unknown[] =>
  client.events.filter((e) => e.name === 'transcription-error').map((e) => e.payload['code']);

async function stats(url: string): Promise<{ sessions: { active: number }; connections: number }> {
  return (await (await fetch(`${url}/stats`)).json()) as { sessions: { active: number }; connections: number };
}

/** Waits (polling /stats) until the server holds no session: the end of a connection is handled asynchronously. */
async function noSessions(url: string): Promise<void> {
  await pollUntil(
    () => stats(url),
    (now) => now.sessions.active === 0,
    { what: 'no session left on the server' },
  );
}

/** Refused connection attempts reject with ConnectRefused; returns it. */
async function refused(attempt: Promise<SpeechIoClient>): Promise<ConnectRefused> {
  const outcome = await attempt.then(
    (client) => {
      client.close();
      return null;
    },
    (error: unknown) => error,
  );
  if (!(outcome instanceof ConnectRefused)) throw new Error(`expected a connect_error, got ${String(outcome)}`);
  return outcome;
}

t.test(
  'start, jfk.wav at real time, stop: partials and finals in order, stop acknowledged after the last final; then ' +
    'a second session',
  async (t) => {
    const client = await SpeechIoClient.connect(app.httpUrl, { auth: { token: KEY } });
    t.teardown(() => client.close());
    const started = await client.ack('start-transcription', { language: 'en' });
    t.type(started['session_id'], 'string', 'the acknowledgement carries the session id');
    t.same(client.events[0], { name: 'transcription-started', payload: { session_id: started['session_id'] } });
    await client.stream(jfk, { chunkMs: 50, speed: 1 });
    const stopped = await client.ack('stop-transcription');
    t.same(stopped, { session_id: started['session_id'] }, 'stop is acknowledged with the session id');
    t.same(
      client.events.at(-1),
      { name: 'transcription-stopped', payload: { session_id: started['session_id'] } },
      'stopped came before the acknowledgement',
    );

    const transcripts = client.events.slice(1, -1);
    t.ok(transcripts.every(isTranscript), 'only transcripts between started and stopped');
    for (const event of transcripts) {
      t.same(Object.keys(event.payload).sort(), TRANSCRIPT_KEYS, 'the fields of /stream transcripts');
      t.equal(
        event.name,
        event.payload['is_final'] ? 'transcription-final' : 'transcription-partial',
        'the event names the kind',
      );
    }
    const data = transcripts.map((e) => ({ ...(e.payload as Omit<Transcript, 'type'>), type: 'transcript' as const }));
    checkOrdering(t, data);
    t.ok(
      data.some((m) => !m.is_final),
      'partials',
    );
    t.ok(data.filter((m) => m.is_final).length >= 2, 'finals');
    t.equal(data.at(-1)?.is_final, true, 'a final is the last transcript before the acknowledgement');

    // The same socket, another session, audio at 48 kHz; stopped mid-utterance (jfk.wav speaks from 0.15 s to 2.3 s).
    const second = await client.ack('start-transcription');
    t.type(second['session_id'], 'string');
    t.not(second['session_id'], started['session_id'], 'a new session');
    const from = client.events.length;
    await client.stream(jfk.subarray(0, 16000 * 1.5), { chunkMs: 100, speed: 1, sampleRate: 48000 });
    t.same(await client.ack('stop-transcription'), { session_id: second['session_id'] });
    const finals = client.events.slice(from).filter((e) => e.name === 'transcription-final');
    t.ok(finals.length >= 1, 'stop finalized the utterance');
    t.ok(
      Math.abs(Number(finals.at(-1)?.payload['end_ms']) - 1500) <= 1,
      'the last final runs to the end of the resampled audio',
    );
    t.same(errorCodes(client), [], 'no errors');
  },
);

t.test('authentication in the handshake: refused with the reason, no session created', async (t) => {
  const missing = await refused(SpeechIoClient.connect(app.httpUrl));
  t.match(missing.message, /^missing credential: connect with io\(url, \{ auth: \{ token \} \}\)/);
  t.same(missing.data, { code: 'unauthorized' });
  t.equal(
    (await refused(SpeechIoClient.connect(app.httpUrl, { auth: { token: 'wrong' } }))).message,
    'invalid credential',
  );
  const expired = await jwt(Math.floor(Date.now() / 1000) - 60);
  t.equal((await refused(SpeechIoClient.connect(app.httpUrl, { auth: { token: expired } }))).message, 'token expired');
  t.equal((await stats(app.httpUrl)).sessions.active, 0, 'no session');

  const valid = await jwt(Math.floor(Date.now() / 1000) + 600);
  for (const options of [
    { query: { token: valid } },
    { extraHeaders: { Authorization: `Bearer ${KEY}` } },
    { auth: { token: valid }, transports: ['websocket'] },
  ]) {
    const client = await SpeechIoClient.connect(app.httpUrl, options);
    t.type(
      (await client.ack('start-transcription'))['session_id'],
      'string',
      `accepted: ${Object.keys(options).join(', ')}`,
    );
    client.close();
  }
});

t.test(
  'bad input gets transcription-error with its code; the socket stays usable and other clients are unaffected',
  async (t) => {
    const other = await SpeechIoClient.connect(app.httpUrl, { auth: { token: KEY } });
    t.teardown(() => other.close());
    const otherSession = await other.ack('start-transcription');

    const client = await SpeechIoClient.connect(app.httpUrl, { auth: { token: KEY }, transports: ['websocket'] });
    t.teardown(() => client.close());
    client.socket.emit('audio-chunk', Buffer.from(jfk.slice(0, 320).buffer));
    client.socket.emit('audio-chunk', 'not audio');
    client.socket.emit('audio-chunk', { audio: Buffer.alloc(3), sampleRate: 48000 });
    client.socket.emit('audio-chunk', { audio: Buffer.alloc(4), sampleRate: 1 });
    client.socket.emit('transcribe-please');
    t.same(await client.ack('start-transcription', { language: 'xx' }), {
      error: {
        code: 'unknown_language',
        message: "unknown language code 'xx'; use an ISO 639-1 code such as 'en' or 'te', or 'auto'",
      },
    });
    t.match(
      await client.ack('start-transcription', { language: 5 }),
      { error: { code: 'bad_message' } },
      'a malformed start is answered too',
    );
    t.match(await client.ack('stop-transcription'), { error: { code: 'not_started' } });
    t.same(errorCodes(client), [
      'not_started',
      'bad_message',
      'odd_frame_length',
      'bad_option',
      'unknown_type',
      'unknown_language',
      'bad_message',
      'not_started',
    ]);
    for (const event of client.events) t.same(Object.keys(event.payload).sort(), ['code', 'message'], 'error shape');

    const started = await client.ack('start-transcription', { language: 'en' });
    t.type(started['session_id'], 'string', 'still usable');
    t.match(await client.ack('start-transcription'), { error: { code: 'already_started' } });
    await client.stream(jfk.subarray(0, 16000), { chunkMs: 100, speed: 2 });
    t.same(await client.ack('stop-transcription'), started);

    await other.stream(jfk.subarray(0, 16000), { chunkMs: 100, speed: 2 });
    t.same(await other.ack('stop-transcription'), otherSession, 'the other client went on undisturbed');
    t.same(errorCodes(other), []);
  },
);

t.test(
  'a MediaRecorder recording: WebM/Opus pieces as {audio, format: "webm"}, then stop; a corrupt one gets bad_audio',
  async (t) => {
    const client = await SpeechIoClient.connect(app.httpUrl, { auth: { token: KEY } });
    t.teardown(() => client.close());
    const started = await client.ack('start-transcription', { language: 'en' });
    const webm = audioFixture('jfk.webm');
    // Pieces of about 250 ms, at twice real time, as MediaRecorder.start(250) hands them over.
    const piece = Math.ceil(webm.length / 44);
    for (let at = 0; at < webm.length; at += piece) {
      client.socket.emit('audio-chunk', { audio: Buffer.from(webm.subarray(at, at + piece)), format: 'webm' });
      await sleep(125);
    }
    t.same(await client.ack('stop-transcription'), started);
    t.same(errorCodes(client), [], 'no errors');
    const finals = client.events.filter((e) => e.name === 'transcription-final');
    t.ok(finals.length >= 2, `finals (${finals.length})`);
    t.ok(
      finals.every((e) => Number(e.payload['end_ms']) <= 11_100),
      'within the 11 s of audio',
    );

    // The next session's recording starts with its own header; a piece of nonsense cannot be read.
    await client.ack('start-transcription');
    client.socket.emit('audio-chunk', { audio: Buffer.from('no container here'), format: 'webm' });
    client.socket.emit('audio-chunk', { audio: Buffer.alloc(8), format: 'mp3' });
    await client.waitFor((e) => e.name === 'transcription-error' && e.payload['code'] === 'bad_option');
    t.same(errorCodes(client), ['bad_audio', 'bad_option']);
    await client.ack('stop-transcription');
  },
);

t.test('a malformed Socket.IO packet drops only its own connection', async (t) => {
  const other = await SpeechIoClient.connect(app.httpUrl, { auth: { token: KEY } });
  t.teardown(() => other.close());
  const client = await SpeechIoClient.connect(app.httpUrl, { auth: { token: KEY }, transports: ['websocket'] });
  // A binary event announcing more attachments than socket.io-parser accepts.
  client.socket.io.engine.send('511-/speech,["audio-chunk",{"_placeholder":true,"num":0}]');
  t.equal(await client.closed(), 'transport close', 'the server dropped that connection');
  t.type((await other.ack('start-transcription'))['session_id'], 'string', 'the other client is unaffected');
  t.ok((await fetch(`${app.httpUrl}/healthz`)).ok, 'the server is up');
});

t.test('origin policy: other origins are refused, the same origin gets CORS headers', async (t) => {
  const evil = await refused(
    SpeechIoClient.connect(app.httpUrl, { auth: { token: KEY }, extraHeaders: { Origin: 'http://evil.example' } }),
  );
  t.ok(evil.message.length > 0, `refused: ${evil.message}`);
  const own = await SpeechIoClient.connect(app.httpUrl, {
    auth: { token: KEY },
    extraHeaders: { Origin: app.httpUrl },
  });
  own.close();
  const handshake = (origin: string): Promise<Response> =>
    fetch(`${app.httpUrl}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: origin } });
  t.equal((await handshake(app.httpUrl)).headers.get('access-control-allow-origin'), app.httpUrl);
  const refusedHandshake = await handshake('http://evil.example');
  t.equal(refusedHandshake.status, 403);
  t.equal(refusedHandshake.headers.get('access-control-allow-origin'), null);
});

t.test(
  'the client bundle is served, only /speech is a namespace, and the other endpoints keep their paths',
  async (t) => {
    const bundle = await fetch(`${app.httpUrl}/socket.io/socket.io.esm.min.js`);
    t.equal(bundle.status, 200);
    t.match(bundle.headers.get('content-type'), /javascript/);
    t.match(
      (await refused(SpeechIoClient.connect(app.httpUrl, { auth: { token: KEY } }, '/'))).message,
      /^no such namespace: connect to \/speech/,
    );
    t.equal(
      (await refused(SpeechIoClient.connect(app.httpUrl, { auth: { token: KEY } }, '/other'))).message,
      'Invalid namespace',
    );
    t.equal((await fetch(`${app.httpUrl}/healthz`)).status, 200);
    t.equal((await fetch(`${app.httpUrl}/nothing-here`)).status, 404);
  },
);

t.test(
  'a client that disconnects mid-utterance leaves no session behind, and its slot is free (MAX_SESSIONS=1)',
  async (t) => {
    const small = await startTestServer({ MAX_SESSIONS: '1' });
    t.teardown(() => small.close());
    const first = await SpeechIoClient.connect(small.httpUrl);
    const second = await SpeechIoClient.connect(small.httpUrl);
    t.teardown(() => second.close());
    t.type((await first.ack('start-transcription'))['session_id'], 'string');
    t.match(
      await second.ack('start-transcription'),
      { error: { code: 'too_many_sessions' } },
      'no room while the first runs',
    );
    await first.stream(jfk.subarray(0, 16000 * 1.5), { chunkMs: 50, speed: 1 });
    first.close();
    await noSessions(small.httpUrl);
    t.equal((await stats(small.httpUrl)).connections, 1, 'only the second connection is left');
    t.type((await second.ack('start-transcription'))['session_id'], 'string', 'the slot is free');
  },
);

t.test('an idle session is finalized and stopped, then the server disconnects', async (t) => {
  const idle = await startTestServer({ IDLE_TIMEOUT_MS: '500' });
  t.teardown(() => idle.close());
  const client = await SpeechIoClient.connect(idle.httpUrl);
  await client.ack('start-transcription');
  await client.stream(jfk.subarray(0, 16000 * 1.5), { chunkMs: 50, speed: 2 });
  t.equal(await client.closed(), 'io server disconnect');
  t.same(
    client.events.slice(-2).map((e) => e.name),
    ['transcription-final', 'transcription-stopped'],
    'the final of the unfinished utterance, then stopped',
  );
});

t.test('shutdown finalizes running sessions, says stopped, then disconnects', async (t) => {
  const closing = await startTestServer();
  const client = await SpeechIoClient.connect(closing.httpUrl, { transports: ['websocket'] });
  const idle = await SpeechIoClient.connect(closing.httpUrl);
  await client.ack('start-transcription');
  await client.stream(jfk.subarray(0, 16000 * 1.5), { chunkMs: 50, speed: 2 });
  // A round trip: events are handled in order, so the server has taken all the audio once this is answered.
  t.match(await client.ack('start-transcription'), { error: { code: 'already_started' } });
  await closing.close();
  t.equal(await client.closed(), 'io server disconnect');
  const last = client.events.slice(-2);
  t.same(
    last.map((e) => e.name),
    ['transcription-final', 'transcription-stopped'],
  );
  t.equal(last[0]?.payload['end_ms'], 1500, 'the final covers all the audio sent');
  t.equal(await idle.closed(), 'io server disconnect', 'a socket without a session is closed too');
});

t.test(
  'the Socket.IO demo page streams a (fake) microphone from headless Chromium',
  { skip: noChromium },
  async (t) => {
    const open = await startTestServer();
    t.teardown(() => open.close());
    const browser = await launchWithMicrophone(join(fixturesDir, 'speech', 'jfk.wav'));
    t.teardown(() => browser.close());
    const page = await browser.newPage();
    // Finals take as long as the machine needs: the test waits for them, not for a clock (tap's timeout still holds).
    page.setDefaultTimeout(0);
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${open.httpUrl}/socketio.html`);
    await page.waitForFunction(() => document.querySelector('#connection')?.textContent === 'connected');
    await page.click('#start');
    await page.waitForFunction(() => Number(document.body.dataset['finals'] ?? 0) >= 1);
    await page.click('#stop');
    await page.waitForFunction(() => document.querySelector('#connection')?.textContent === 'stopped');
    t.ok(((await page.textContent('#finals')) ?? '').length > 0, 'finals on the page');
    t.same(problems, [], `no errors in the page: ${problems.join('; ')}`);
  },
);
