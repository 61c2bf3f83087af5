import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssemblyAI, StreamingTranscriber, type TurnEvent } from 'assemblyai';
import t, { type Test } from 'tap';
import WebSocket from 'ws';
import { hashApiKey } from '../server/auth/authenticator.js';
import { speech } from './helpers/engine-fixtures.js';
import { refusedAfterUpgrade, refusedUpgrade } from './helpers/handshake.js';
import { audioFixture } from './helpers/audio-fixtures.js';
import { MessageLog } from './helpers/message-log.js';
import { sendPaced, sendPacedBytes } from './helpers/paced-audio.js';
import { startTestServer } from './helpers/stream-server.js';
import { within } from '../bench/lib/wait.js';

/**
 * The SDK connects to wss:// only and takes no CA of its own, so this file runs twice: first it makes a self-signed
 * certificate and runs itself again in a child process that trusts it (NODE_EXTRA_CA_CERTS), where the tests run.
 */
const tlsDir = process.env['ASSEMBLYAI_TEST_TLS_DIR'];
if (tlsDir === undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'assemblyai-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  t.spawn(
    process.execPath,
    [fileURLToPath(import.meta.url)],
    { env: { ...process.env, ASSEMBLYAI_TEST_TLS_DIR: dir, NODE_EXTRA_CA_CERTS: cert } },
    'over TLS, trusting a self-signed certificate',
  );
} else {
  await run(tlsDir);
}

type Message = Record<string, unknown>;

async function run(dir: string): Promise<void> {
  const KEY = 'assemblyai-test-key-0123456789';
  // Three tests at a time: each has a server of its own and waits on events, not on a clock.
  t.jobs = 3;
  const ca = readFileSync(join(dir, 'cert.pem'));
  /**
   * A server of the test's own: one test's streaming leaves no load behind that would make the next one's server refuse
   * it.
   */
  async function server(t: Test): Promise<string> {
    const app = await startTestServer({
      API_KEY_HASHES: hashApiKey(KEY),
      TLS_CERT_FILE: join(dir, 'cert.pem'),
      TLS_KEY_FILE: join(dir, 'key.pem'),
    });
    t.teardown(() => app.close());
    return `wss://127.0.0.1:${app.port}/v3/ws`;
  }
  const jfk = speech('jfk.wav');
  const seconds = (s: number): number => Math.round(s * 16000);
  const realTime = { samplesPerS: 16000, chunkMs: 100, speed: 1 };
  const fast = { ...realTime, speed: 4 };

  /** The official SDK's streaming client against this server: `websocketBaseUrl` is the one change its user makes. */
  const transcriber = (
    url: string,
    credential: { apiKey: string } | { token: string },
    formatTurns = false,
  ): StreamingTranscriber =>
    new StreamingTranscriber({
      websocketBaseUrl: url,
      ...credential,
      sampleRate: 16000,
      formatTurns,
      connectTimeout: 60_000,
      maxConnectionRetries: 0,
    });

  /** A plain WebSocket for what the SDK does not expose: every message as sent. */
  async function raw(
    url: string,
    query = '',
    credential = KEY,
  ): Promise<{ ws: WebSocket; log: MessageLog<Message>; closed: Promise<number> }> {
    const ws = new WebSocket(`${url}${query}`, { ca, headers: { authorization: credential } });
    const log = new MessageLog<Message>();
    ws.on('message', (data) => log.push(JSON.parse(String(data)) as Message));
    const closed = once(ws, 'close').then(([code]) => code as number);
    await once(ws, 'open');
    return { ws, log, closed };
  }

  t.test('the SDK streams jfk.wav at real time: Begin, Turns, ForceEndpoint, Termination', async (t) => {
    const client = transcriber(await server(t), { apiKey: KEY }, true);
    const turns = new MessageLog<TurnEvent>();
    client.on('turn', (turn) => turns.push(turn));
    const errors: Error[] = [];
    client.on('error', (error) => errors.push(error));
    const begin = await client.connect();
    t.match(begin, { type: 'Begin', id: String, expires_at: Number });
    t.ok(begin.expires_at > Date.now() / 1000, 'expires_at lies ahead, in seconds');
    const send = (chunk: Buffer): void =>
      client.sendAudio(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength));
    // jfk.wav's first utterance runs from 0.15 s to 2.3 s: ForceEndpoint at 2 s ends the turn early.
    await sendPaced(jfk.subarray(0, seconds(2)), realTime, send);
    // Partials come while the turn is open; on a busy machine, maybe only after the audio has.
    t.match(
      await turns.waitFor((turn) => !turn.end_of_turn),
      { end_of_turn: false, turn_is_formatted: false },
      'a partial turn',
    );
    client.forceEndpoint();
    const forced = await turns.waitFor((turn) => turn.end_of_turn);
    t.match(
      forced,
      { turn_order: 0, turn_is_formatted: false, end_of_turn_confidence: Number },
      'ForceEndpoint ended the turn: unformatted first',
    );
    t.ok(
      forced.end_of_turn_confidence >= 0 && forced.end_of_turn_confidence <= 1,
      'its end_of_turn_confidence is a share of the end-of-turn silence',
    );
    t.match(
      await turns.waitFor((turn) => turn.end_of_turn && turn.turn_is_formatted),
      { turn_order: 0 },
      'then formatted',
    );
    await sendPaced(jfk.subarray(seconds(2)), realTime, send);
    // Sends Terminate and waits for Termination (the plain-WebSocket test below checks it and the close code).
    await client.close(true, 0);
    t.same(errors, [], 'no errors');

    const all = turns.messages;
    const ends = all.filter((turn) => turn.end_of_turn && turn.turn_is_formatted);
    t.ok(ends.length >= 2, 'several turns');
    t.same(
      ends.map((turn) => turn.turn_order),
      ends.map((_, i) => i),
      'turn_order counts the turns',
    );
    t.same(
      all.filter((turn) => turn.end_of_turn).map((turn) => turn.turn_is_formatted),
      ends.flatMap(() => [false, true]),
      'every turn ends unformatted, then formatted',
    );
    for (const turn of all) {
      t.same(Object.keys(turn).sort(), [
        'end_of_turn',
        'end_of_turn_confidence',
        'transcript',
        'turn_is_formatted',
        'turn_order',
        'type',
        'utterance',
        'words',
      ]);
      for (const word of turn.words) {
        t.match(word, { start: Number, end: Number, text: String, confidence: Number, word_is_final: Boolean });
        t.ok(word.start <= word.end && word.end <= 11_000, 'word times in ms');
      }
      const final = turn.words.filter((word) => word.word_is_final).map((word) => word.text);
      if (!turn.end_of_turn) {
        t.equal(turn.transcript, final.join(' '), "a partial's transcript is its final words");
        t.same(
          turn.words.slice(0, final.length).map((word) => word.word_is_final),
          final.map(() => true),
          'final words first',
        );
      } else t.equal(Reflect.get(turn, 'utterance'), turn.transcript, 'the whole turn at its end');
    }
  });

  t.test('authentication: Authorization or ?token=; anything else is closed with 4001, not retried', async (t) => {
    const url = await server(t);
    const refusedCount = async (): Promise<number> => {
      const metrics = await (await fetch(url.replace('wss://', 'https://').replace('/v3/ws', '/metrics'))).text();
      return Number(/^stt_refused_total\{reason="unauthorized"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
    };
    const before = await refusedCount();
    // The SDK's defaults: two more tries after a failed one, unless the failure is one a retry cannot mend.
    const wrongKey = new StreamingTranscriber({
      websocketBaseUrl: url,
      apiKey: 'not-the-key',
      sampleRate: 16000,
      connectTimeout: 60_000,
    });
    await t.rejects(wrongKey.connect(), { message: /Not Authorized/, code: 4001 }, 'the SDK reports the refusal');
    t.equal((await refusedCount()) - before, 1, 'one try: the SDK did not retry a refused key');
    t.match(await refusedAfterUpgrade(url, { ca }), {
      code: 4001,
      reason: 'Not Authorized',
      messages: [{ type: 'Error', error_code: 4001, error: /Not Authorized: missing credential: send Authorization/ }],
    });
    const byToken = transcriber(url, { token: KEY });
    t.match(await byToken.connect(), { type: 'Begin' }, 'a ?token= is accepted');
    await byToken.close(true, 0);
  });

  t.test('encoding=pcm_mulaw at 8 kHz through the SDK, in 20 ms frames as telephony sends them', async (t) => {
    const client = new StreamingTranscriber({
      websocketBaseUrl: await server(t),
      apiKey: KEY,
      encoding: 'pcm_mulaw',
      sampleRate: 8000,
      connectTimeout: 60_000,
      maxConnectionRetries: 0,
    });
    const turns = new MessageLog<TurnEvent>();
    client.on('turn', (turn) => turns.push(turn));
    const errors: Error[] = [];
    client.on('error', (error) => errors.push(error));
    await client.connect();
    const mulaw = audioFixture('jfk-8k.ulaw');
    await sendPacedBytes(mulaw, { bytesPerS: 8000, chunkMs: 20, speed: 2 }, (chunk) =>
      client.sendAudio(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength)),
    );
    // Sends Terminate and waits for Termination.
    await client.close(true, 0);
    t.same(errors, [], 'no errors');
    const ends = turns.messages.filter((turn) => turn.end_of_turn);
    t.ok(ends.length >= 2, `turns ended (${ends.length})`);
    t.ok(
      ends.flatMap((turn) => turn.words).every((word) => word.end <= 11_500),
      'word times (ms) within the 11 s of audio',
    );
  });

  t.test(
    'temporary tokens: the SDK mints one with createTemporaryToken, a browser-style client opens one session with it',
    async (t) => {
      const url = await server(t);
      const streamingBaseUrl = url.replace('wss://', 'https://').replace('/v3/ws', '');
      const backend = new AssemblyAI({ apiKey: KEY, streamingBaseUrl });
      const token = await backend.streaming.createTemporaryToken({ expires_in_seconds: 60 });
      t.match(token, /^ek_/, 'a token, not the key');
      // What runs in the browser: the token only, in ?token= (the SDK puts it there).
      const browser = new StreamingTranscriber({
        websocketBaseUrl: url,
        token,
        sampleRate: 16000,
        connectTimeout: 60_000,
        maxConnectionRetries: 0,
      });
      const turns = new MessageLog<TurnEvent>();
      browser.on('turn', (turn) => turns.push(turn));
      t.match(await browser.connect(), { type: 'Begin' }, 'the token opens a session');
      await sendPaced(jfk.subarray(0, seconds(3)), fast, (chunk) =>
        browser.sendAudio(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength)),
      );
      await browser.close(true, 0);
      t.ok(
        turns.messages.some((turn) => turn.end_of_turn),
        'and transcribes',
      );

      const again = new StreamingTranscriber({
        websocketBaseUrl: url,
        token,
        sampleRate: 16000,
        connectTimeout: 60_000,
        maxConnectionRetries: 0,
      });
      await t.rejects(again.connect(), /Not Authorized/, 'a used token opens nothing (single use, as AssemblyAI says)');
      t.match(await refusedAfterUpgrade(`${url}?token=${token}`, { ca }), {
        code: 4001,
        messages: [{ error_code: 4001, error: /used already/ }],
      });
      const unused = await backend.streaming.createTemporaryToken({ expires_in_seconds: 60 });
      const realtime = url.replace('/v3/ws', '/v1/realtime?intent=transcription');
      t.match(
        await refusedUpgrade(realtime, { ca, headers: { authorization: `Bearer ${unused}` } }),
        { status: 401, body: { message: /for \/v3\/ws only/ } },
        'nor another endpoint',
      );
      const stream = url.replace('/v3/ws', '/stream');
      t.match(await refusedUpgrade(`${stream}?token=${unused}`, { ca }), { status: 401 }, 'nor /stream');

      await t.rejects(
        new AssemblyAI({ apiKey: 'not-the-key', streamingBaseUrl }).streaming.createTemporaryToken({
          expires_in_seconds: 60,
        }),
        /invalid credential/,
        'a wrong key mints nothing',
      );
      await t.rejects(
        new AssemblyAI({ apiKey: unused, streamingBaseUrl }).streaming.createTemporaryToken({ expires_in_seconds: 60 }),
        /for \/v3\/ws only/,
        'a token mints nothing',
      );
      await t.rejects(
        backend.streaming.createTemporaryToken({ expires_in_seconds: 601 }),
        /expires_in_seconds must be a whole number from 1 to 600/,
      );
      await t.rejects(
        backend.streaming.createTemporaryToken({ expires_in_seconds: 60, max_session_duration_seconds: 5 }),
        /max_session_duration_seconds/,
      );
    },
  );

  t.test('unusable query strings are refused at the handshake with 400', async (t) => {
    const url = await server(t);
    const refusal = (query: string) => refusedUpgrade(`${url}?${query}`, { ca, headers: { authorization: KEY } });
    t.match(await refusal('encoding=aac'), {
      status: 400,
      body: { error: 'bad_option', message: /pcm_s16le, pcm_mulaw, ogg_opus/ },
    });
    t.match(await refusal('sample_rate=100'), {
      status: 400,
      body: { message: /sample_rate must be a whole number from 8000 to 192000/ },
    });
    t.match(await refusal('keyterms_prompt=notjson'), { status: 400, body: { message: /keyterms_prompt/ } });
    t.match(await refusal('end_of_turn_confidence_threshold=2'), {
      status: 400,
      body: { message: /end_of_turn_confidence_threshold/ },
    });
  });

  t.test(
    'messages as sent: partial words, unformatted turns, errors that leave the socket usable, Termination',
    async (t) => {
      const { ws, log, closed } = await raw(
        await server(t),
        '?sample_rate=16000&keyterms_prompt=%5B%22Kennedy%22%5D&min_turn_silence=300',
      );
      const begin = await log.waitFor((m) => m['type'] === 'Begin');
      t.same(Object.keys(begin).sort(), ['expires_at', 'id', 'type']);
      ws.send('{"type": "Nope"}');
      ws.send('[');
      ws.send(JSON.stringify({ type: 'UpdateConfiguration', min_turn_silence: 'soon' }));
      ws.send(Buffer.alloc(3));
      await log.waitFor((m) => m['type'] === 'Error' && (m['error'] as string).includes('whole frames'));
      const errors = log.messages.filter((m) => m['type'] === 'Error');
      t.same(
        errors.map((m) => m['error_code']),
        [3006, 3006, 3006, 3006],
        'invalid messages get 3006, and the connection stays open',
      );
      for (const error of errors) t.same(Object.keys(error).sort(), ['error', 'error_code', 'type']);
      ws.send(
        JSON.stringify({
          type: 'UpdateConfiguration',
          max_turn_silence: 1000,
          min_turn_silence: 400,
          end_of_turn_confidence_threshold: 0.5,
          keyterms_prompt: ['Americans'],
        }),
      );
      ws.send('{"type": "KeepAlive"}');
      await sendPaced(jfk.subarray(0, seconds(3)), fast, (chunk) => ws.send(chunk));
      ws.send('{"type": "Terminate"}');
      t.equal(await closed, 1000);
      t.equal(
        log.messages.filter((m) => m['type'] === 'Error').length,
        4,
        'the good UpdateConfiguration and KeepAlive were taken',
      );
      const ends = log.messages.filter((m) => m['type'] === 'Turn' && m['end_of_turn'] === true);
      t.ok(ends.length >= 1, 'the audio after the errors was transcribed');
      for (const turn of ends) {
        t.equal(turn['turn_is_formatted'], false);
        t.equal(turn['transcript'], (turn['transcript'] as string).toLowerCase(), 'unformatted: lower case');
        t.notMatch(turn['transcript'], /[.,?!]/, 'unformatted: no punctuation');
      }
      const termination = log.messages.at(-1) as Message;
      t.same(Object.keys(termination).sort(), ['audio_duration_seconds', 'session_duration_seconds', 'type']);
      t.match(termination, { type: 'Termination', audio_duration_seconds: 3, session_duration_seconds: Number });
    },
  );

  t.test(
    'inactivity_timeout: an idle session is terminated after that many seconds, as AssemblyAI terminates one',
    async (t) => {
      const url = await server(t);
      const idle = new StreamingTranscriber({
        websocketBaseUrl: url,
        apiKey: KEY,
        sampleRate: 16000,
        inactivityTimeout: 5,
        connectTimeout: 60_000,
        maxConnectionRetries: 0,
      });
      const closed = new Promise<[number, string]>((resolve) =>
        idle.on('close', (code, reason) => resolve([code, reason])),
      );
      await idle.connect();
      t.match(await within(closed, 'the inactivity close', 30_000), [1000, /inactivity/]);
      const { ws, log, closed: rawClosed } = await raw(url, '?sample_rate=16000&inactivity_timeout=5');
      await sendPaced(jfk.subarray(0, seconds(1)), fast, (chunk) => ws.send(chunk));
      t.equal(await within(rawClosed, 'the raw inactivity close', 30_000), 1000);
      t.match(
        log.messages.at(-1),
        { type: 'Termination', audio_duration_seconds: 1 },
        'Termination, as after a Terminate',
      );
    },
  );

  t.test(
    'turn detection as AssemblyAI documents it: end_of_turn_confidence against end_of_turn_confidence_threshold',
    async (t) => {
      // AssemblyAI's "balanced" settings: threshold 0.4, 400 ms when confident, 1280 ms at most.
      const client = new StreamingTranscriber({
        websocketBaseUrl: await server(t),
        apiKey: KEY,
        sampleRate: 16000,
        endOfTurnConfidenceThreshold: 0.4,
        minEndOfTurnSilenceWhenConfident: 400,
        maxTurnSilence: 1280,
        connectTimeout: 60_000,
        maxConnectionRetries: 0,
      });
      const turns = new MessageLog<TurnEvent>();
      client.on('turn', (turn) => turns.push(turn));
      await client.connect();
      await sendPaced(jfk.subarray(0, seconds(5)), fast, (chunk) =>
        client.sendAudio(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength)),
      );
      await sendPaced(new Int16Array(seconds(1.5)), fast, (chunk) =>
        client.sendAudio(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength)),
      );
      await client.close(true, 0);
      const ends = turns.messages.filter((turn) => turn.end_of_turn);
      t.ok(ends.length >= 1, `turns ended (${ends.length})`);
      t.ok(
        ends.every((turn) => turn.end_of_turn_confidence === 0.4),
        'a turn ends as its confidence reaches the threshold',
      );
      t.ok(
        turns.messages.every((turn) => turn.end_of_turn_confidence >= 0 && turn.end_of_turn_confidence <= 1),
        'confidences from 0 to 1',
      );
    },
  );

  t.test('48 kHz audio is resampled', async (t) => {
    const at48k = new Int16Array(seconds(3) * 3);
    for (let i = 0; i < at48k.length; i++) at48k[i] = jfk[Math.floor(i / 3)] as number;
    const { ws, log, closed } = await raw(await server(t), '?sample_rate=48000');
    await sendPaced(at48k, { samplesPerS: 48000, chunkMs: 100, speed: 4 }, (chunk) => ws.send(chunk));
    ws.send('{"type": "Terminate"}');
    t.equal(await closed, 1000);
    t.ok(
      log.messages.some((m) => m['type'] === 'Turn' && m['end_of_turn'] === true),
      'turns',
    );
    const termination = log.messages.at(-1) as Message;
    t.ok(Math.abs((termination['audio_duration_seconds'] as number) - 3) < 0.01, 'the audio sent, in seconds');
  });
}
