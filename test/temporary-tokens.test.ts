/**
 * OpenAI's ephemeral client secrets, minted with OpenAI's own SDK by a "backend" that holds the key, then used where
 * browsers use them: in headless Chromium, as the `openai-insecure-api-key.` subprotocol of a Realtime WebSocket.
 * The beta `transcription_sessions` form, and what a secret may not do (mint, upload, open another endpoint).
 */
import { once } from 'node:events';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { OpenAI, toFile } from 'openai';
import t from 'tap';
import NodeWebSocket from 'ws';
import { encodeWav } from '../engine/audio/wav.js';
import { fixturesDir } from '../engine/index.js';
import { hashApiKey } from '../server/auth/authenticator.js';
import { launchWithMicrophone, noChromium } from './helpers/chromium.js';
import { speech } from './helpers/engine-fixtures.js';
import { refusedAfterUpgrade, refusedUpgrade } from './helpers/handshake.js';
import { startTestServer } from './helpers/stream-server.js';

const KEY = 'sk-temporary-token-test-0123456789';
const JWT_SECRET = 'a-jwt-secret-of-at-least-32-bytes-for-tests';
const jfk = speech('jfk.wav');

const app = await startTestServer({ API_KEY_HASHES: hashApiKey(KEY), JWT_SECRET, FINAL_BEAM_SIZE: '1' });
t.teardown(() => app.close());
const backend = new OpenAI({ apiKey: KEY, baseURL: `${app.httpUrl}/v1`, maxRetries: 0 });
const realtimeUrl = `ws://127.0.0.1:${app.port}/v1/realtime?intent=transcription`;

t.test('the SDK mints a client secret for a transcription session; its settings come back checked', async (t) => {
  const secret = await backend.realtime.clientSecrets.create({
    expires_after: { anchor: 'created_at', seconds: 3600 },
    session: {
      type: 'transcription',
      audio: {
        input: { format: { type: 'audio/pcmu' }, transcription: { model: 'gpt-4o-transcribe', language: 'en' } },
      },
    },
  });
  t.match(secret.value, /^ek_/);
  const lifetime = secret.expires_at - Date.now() / 1000;
  t.ok(lifetime > 590 && lifetime <= 600, `held to 10 minutes, not the hour asked (${Math.round(lifetime)} s)`);
  t.match(secret.session, {
    type: 'transcription',
    object: 'realtime.transcription_session',
    id: /^sess_/,
    audio: { input: { format: { type: 'audio/pcmu' }, transcription: { model: 'gpt-4o-transcribe', language: 'en' } } },
  });
  await t.rejects(backend.realtime.clientSecrets.create({ session: { type: 'realtime' } }), {
    status: 400,
    param: 'session.type',
    message: /transcription sessions only/,
  });
  await t.rejects(backend.realtime.clientSecrets.create({ expires_after: { anchor: 'created_at', seconds: 5 } }), {
    status: 400,
    param: 'expires_after',
    message: /expires_after/,
  });
  await t.rejects(
    backend.realtime.clientSecrets.create({
      session: { type: 'transcription', audio: { input: { transcription: { language: 'xx' } } } },
    }),
    {
      status: 400,
      code: 'unknown_language',
      message: /xx/,
    },
  );
});

t.test(
  'headless Chromium opens /v1/realtime with the secret as its subprotocol and gets a transcript',
  { skip: noChromium },
  async (t) => {
    // The backend decides the session's settings (manual turns here); the page only streams.
    const { value } = await backend.realtime.clientSecrets.create({
      session: { type: 'transcription', audio: { input: { turn_detection: null, transcription: { language: 'en' } } } },
    });
    // jfk.wav at 24 kHz (linear interpolation), in 100 ms appends of base64.
    const up = new Int16Array(Math.floor((jfk.length * 3) / 2));
    for (let i = 0; i < up.length; i++) {
      const at = (i * 2) / 3;
      const left = Math.floor(at);
      up[i] = Math.round(
        (jfk[left] as number) * (1 - (at - left)) + (jfk[Math.min(left + 1, jfk.length - 1)] as number) * (at - left),
      );
    }
    const appends: string[] = [];
    for (let at = 0; at < up.length; at += 2400)
      appends.push(Buffer.from(up.slice(at, at + 2400).buffer).toString('base64'));

    const browser = await launchWithMicrophone(join(fixturesDir, 'speech', 'jfk.wav'));
    t.teardown(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`${app.httpUrl}/`);
    const result = await page.evaluate(
      async ({ url, secret, audio }) => {
        const ws = new WebSocket(url, ['realtime', `openai-insecure-api-key.${secret}`]);
        type Event = {
          type: string;
          transcript?: string;
          session?: { audio?: { input?: { turn_detection?: unknown } } };
        };
        const events: Event[] = [];
        const next = (type: string): Promise<Event> =>
          new Promise((resolve, reject) => {
            const seen = events.find((e) => e.type === type);
            if (seen) return resolve(seen);
            const onMessage = (message: { data: unknown }): void => {
              const event = JSON.parse(String(message.data)) as { type: string };
              if (event.type === type) {
                ws.removeEventListener('message', onMessage);
                resolve(event);
              }
            };
            ws.addEventListener('message', onMessage);
            ws.addEventListener('close', () => reject(new Error(`closed before ${type}`)));
          });
        ws.addEventListener('message', (message) => events.push(JSON.parse(String(message.data)) as { type: string }));
        const created = await next('session.created');
        for (const chunk of audio) ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: chunk }));
        ws.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
        const completed = await next('conversation.item.input_audio_transcription.completed');
        ws.close();
        return {
          protocol: ws.protocol,
          turnDetection: created.session?.audio?.input?.turn_detection,
          transcript: completed.transcript ?? '',
          errors: events.filter((e) => e.type === 'error').length,
        };
      },
      { url: realtimeUrl, secret: value, audio: appends },
    );
    t.equal(result.protocol, 'realtime', 'the server answers with the realtime subprotocol');
    t.equal(result.turnDetection, null, "the session started with the secret's settings (manual turns)");
    t.equal(result.errors, 0, 'no errors');
    t.ok(result.transcript.length > 0, 'a completed transcript');
  },
);

t.test('beta transcription_sessions: a client_secret, used as a Bearer key, until it expires', async (t) => {
  const session = await backend.beta.realtime.transcriptionSessions.create({
    input_audio_format: 'g711_ulaw',
    turn_detection: { type: 'server_vad', silence_duration_ms: 700 },
  });
  t.match(session, {
    object: 'realtime.transcription_session',
    input_audio_format: 'g711_ulaw',
    turn_detection: { type: 'server_vad', silence_duration_ms: 700 },
    client_secret: { value: /^ek_/, expires_at: Number },
  });
  const lifetime = session.client_secret.expires_at - Date.now() / 1000;
  t.ok(lifetime > 50 && lifetime <= 60, 'a minute, as OpenAI gave');
  for (let i = 0; i < 2; i++) {
    const ws = new NodeWebSocket(realtimeUrl, { headers: { authorization: `Bearer ${session.client_secret.value}` } });
    const [first] = (await once(ws, 'message')) as [Buffer];
    t.match(
      JSON.parse(first.toString()),
      {
        type: 'session.created',
        session: { audio: { input: { format: { type: 'audio/pcmu' }, turn_detection: { silence_duration_ms: 700 } } } },
      },
      `session ${i + 1} opens, with the secret's settings: OpenAI's secrets are not single-use`,
    );
    ws.close();
    await once(ws, 'close');
  }
});

t.test('a secret opens nothing else, mints nothing, uploads nothing; only an API key mints', async (t) => {
  const { value } = await backend.realtime.clientSecrets.create({});
  t.match(await refusedAfterUpgrade(`ws://127.0.0.1:${app.port}/v3/ws?token=${value}`), {
    code: 4001,
    messages: [{ error_code: 4001, error: /for \/v1\/realtime only/ }],
  });
  t.match(await refusedUpgrade(`ws://127.0.0.1:${app.port}/stream`, {}, ['bearer', value]), { status: 401 });
  const withSecret = new OpenAI({ apiKey: value, baseURL: `${app.httpUrl}/v1`, maxRetries: 0 });
  await t.rejects(
    withSecret.realtime.clientSecrets.create({}),
    { status: 401, message: /for \/v1\/realtime only/ },
    'a secret cannot mint another',
  );
  const wav = await toFile(Buffer.from(encodeWav(jfk.subarray(0, 16000))), 'a.wav', { type: 'audio/wav' });
  await t.rejects(
    withSecret.audio.transcriptions.create({ file: wav, model: 'whisper-1' }),
    { status: 401, message: /only/ },
    'nor upload',
  );
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('user-1')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(JWT_SECRET));
  const withJwt = new OpenAI({ apiKey: jwt, baseURL: `${app.httpUrl}/v1`, maxRetries: 0 });
  await t.rejects(
    withJwt.realtime.clientSecrets.create({}),
    { status: 403, message: /only an API key/ },
    'a JWT cannot mint',
  );
  const anonymous = await fetch(`${app.httpUrl}/v1/realtime/client_secrets`, { method: 'POST', body: '{}' });
  t.equal(anonymous.status, 401);
  t.match(await anonymous.json(), { error: { type: 'authentication_error', code: 'unauthorized' } });
});
