import { DeepgramClient } from '@deepgram/sdk';
import t, { type Test } from 'tap';
import type { App } from '../server/app.js';
import { hashApiKey } from '../server/auth/authenticator.js';
import { speech } from './helpers/engine-fixtures.js';
import { acceptedProtocol, refusedUpgrade } from './helpers/handshake.js';
import { MessageLog } from './helpers/message-log.js';
import { audioFixture } from './helpers/audio-fixtures.js';
import { sendPaced, sendPacedBytes } from './helpers/paced-audio.js';
import { startTestServer } from './helpers/stream-server.js';
import { within } from '../bench/lib/wait.js';

type Message = Record<string, unknown>;

const KEY = 'deepgram-test-key-0123456789';
const jfk = speech('jfk.wav');
const seconds = (s: number): number => Math.round(s * 16000);

const RESULTS_KEYS = [
  'channel',
  'channel_index',
  'duration',
  'from_finalize',
  'is_final',
  'metadata',
  'speech_final',
  'start',
  'type',
];

// Three tests at a time: each has a server of its own and waits on events, not on a clock.
t.jobs = 3;

/**
 * A server of the test's own: one test's streaming leaves no load behind that would make the next one's server refuse
 * it.
 */
async function server(t: Test, env: Record<string, string> = {}): Promise<App> {
  const app = await startTestServer({ API_KEY_HASHES: hashApiKey(KEY), ...env });
  t.teardown(() => app.close());
  return app;
}

/**
 * The official SDK's live client against `app`: `baseUrl` is the one change a Deepgram user makes. Raw 16 kHz
 * linear16 unless `options` say otherwise; `container` leaves encoding and sample_rate out, as containerized audio
 * does.
 */
async function listen(app: App, options: Record<string, string | number | string[]>, apiKey = KEY, container = false) {
  const client = new DeepgramClient({ apiKey, baseUrl: `ws://127.0.0.1:${app.port}` });
  const raw = container ? {} : { encoding: 'linear16', sample_rate: 16000 };
  const socket = await client.listen.v1.connect({ model: 'nova-3', ...raw, reconnectAttempts: 0, ...options });
  const log = new MessageLog<Message>();
  socket.on('message', (message: unknown) => log.push(message as Message));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (event) => resolve({ code: event.code, reason: event.reason })),
  );
  const failed = new Promise<Error>((resolve) => socket.on('error', resolve));
  socket.connect();
  return { socket, log, closed, failed };
}

const results = (log: MessageLog<Message>): Message[] => log.messages.filter((m) => m['type'] === 'Results');
const alternative = (m: Message): { transcript: string; confidence: number; words: Message[] } =>
  (m['channel'] as { alternatives: { transcript: string; confidence: number; words: Message[] }[] })
    .alternatives[0] as { transcript: string; confidence: number; words: Message[] };

t.test(
  'the SDK streams jfk.wav at real time: interim and final Results, Finalize, CloseStream, Metadata',
  async (t) => {
    const { socket, log, closed } = await listen(await server(t), {
      interim_results: 'true',
      punctuate: 'true',
      vad_events: 'true',
      utterance_end_ms: 1000,
      keyterm: ['Kennedy', 'Americans'],
    });
    await socket.waitForOpen();
    const send = (chunk: Buffer): void => socket.sendMedia(chunk);
    // jfk.wav's first utterance runs from 0.15 s to 2.3 s: Finalize at 2 s ends it early, and the stream goes on.
    await sendPaced(jfk.subarray(0, seconds(2)), { samplesPerS: 16000, chunkMs: 100, speed: 1 }, send);
    // Partials come while the utterance is open; on a busy machine, maybe only after the audio has.
    t.match(
      await log.waitFor((m) => m['is_final'] === false),
      { type: 'Results', is_final: false, from_finalize: false },
      'an interim result',
    );
    socket.sendFinalize({ type: 'Finalize' });
    const finalized = await log.waitFor((m) => m['from_finalize'] === true);
    t.match(
      finalized,
      { is_final: true, speech_final: false, start: Number },
      'Finalize gave a final with from_finalize (not speech_final: endpointing did not end it)',
    );
    await sendPaced(jfk.subarray(seconds(2)), { samplesPerS: 16000, chunkMs: 100, speed: 1 }, send);
    // A pause longer than utterance_end_ms after the last word.
    await sendPaced(new Int16Array(seconds(1.5)), { samplesPerS: 16000, chunkMs: 100, speed: 4 }, send);
    socket.sendCloseStream({ type: 'CloseStream' });
    t.match(await closed, { code: 1000 }, 'CloseStream closes normally');

    const all = results(log);
    t.ok(
      all.some((m) => m['is_final'] === false),
      'interim results',
    );
    t.ok(all.filter((m) => m['is_final'] === true).length >= 2, 'finals');
    t.equal(
      all.filter((m) => m['from_finalize'] === true).length,
      1,
      'only the Finalized utterance says from_finalize',
    );
    for (const m of all) {
      t.same(Object.keys(m).sort(), RESULTS_KEYS, 'Results shape');
      t.same(m['channel_index'], [0, 1]);
      t.match(m['metadata'], { request_id: String, model_info: { name: String }, model_uuid: String });
      const alt = alternative(m);
      t.type(alt.transcript, 'string');
      t.ok(alt.confidence >= 0 && alt.confidence <= 1, 'confidence');
      for (const word of alt.words) {
        t.match(
          word,
          { word: String, start: Number, end: Number, confidence: Number, punctuated_word: String },
          'word shape (punctuate)',
        );
        t.ok(
          (word['start'] as number) <= (word['end'] as number) && (word['end'] as number) <= 12.5,
          'word times in seconds',
        );
      }
      if (m['speech_final'] === true) t.equal(m['is_final'], true, 'only finals are speech_final');
    }
    t.ok(
      all.some((m) => m['speech_final'] === true),
      'endpointing ended a turn: speech_final',
    );
    const started = log.messages.filter((m) => m['type'] === 'SpeechStarted');
    t.ok(started.length >= 2, 'SpeechStarted with vad_events');
    for (const m of started) t.match(m, { channel: [0, 1], timestamp: Number });
    t.ok(
      log.messages.some((m) => m['type'] === 'UtteranceEnd'),
      'UtteranceEnd after a pause longer than utterance_end_ms',
    );
    const metadata = log.messages.at(-1) as Message;
    t.match(
      metadata,
      {
        type: 'Metadata',
        request_id: ((all[0] as Message)['metadata'] as Message)['request_id'],
        sha256: /^[0-9a-f]{64}$/,
        created: String,
        duration: 12.5,
        channels: 1,
      },
      'Metadata comes last',
    );
  },
);

t.test(
  'without interim_results: finals only; 48 kHz stereo is resampled; endpointing=false leaves the turn to the client',
  async (t) => {
    const stereo48k = new Int16Array(seconds(4) * 6);
    for (let i = 0; i < stereo48k.length; i++) stereo48k[i] = jfk[Math.floor(i / 6)] as number;
    const { socket, log, closed } = await listen(await server(t), {
      sample_rate: 48000,
      channels: 2,
      endpointing: 'false',
      language: 'en-US',
    });
    await socket.waitForOpen();
    await sendPaced(stereo48k, { samplesPerS: 96000, chunkMs: 100, speed: 4 }, (chunk) => socket.sendMedia(chunk));
    socket.sendCloseStream({ type: 'CloseStream' });
    t.match(await closed, { code: 1000 });
    const all = results(log);
    t.equal(all.length, 1, 'one final, from CloseStream: silence ended no utterance');
    t.match(all[0], { is_final: true, from_finalize: false });
    const alt = alternative(all[0] as Message);
    t.equal(alt.transcript, alt.transcript.toLowerCase(), 'without punctuate: lower case');
    t.notMatch(alt.transcript, /[.,?!]/, 'without punctuate: no punctuation');
    for (const word of alt.words) t.notOk('punctuated_word' in word, 'no punctuated_word without punctuate');
    const metadata = log.messages.at(-1) as Message;
    t.match(metadata, { type: 'Metadata', channels: 2 });
    t.ok(Math.abs((metadata['duration'] as number) - 4) < 0.01, 'Metadata duration: the audio sent');
  },
);

/** Finals of a stream of jfk.wav in any form: speech found, word times within its 11 s, Metadata last. */
function checkJfk(t: Test, log: MessageLog<Message>, label: string): void {
  const finals = results(log).filter((m) => m['is_final'] === true);
  t.ok(finals.length >= 2, `${label}: finals (${finals.length})`);
  const words = finals.flatMap((m) => alternative(m).words);
  t.ok(
    words.length > 0 && words.every((w) => (w['end'] as number) <= 11.5),
    `${label}: word times within the 11 s of audio`,
  );
  const metadata = log.messages.at(-1) as Message;
  t.match(metadata, { type: 'Metadata', channels: 1 }, `${label}: Metadata last`);
  t.ok(
    Math.abs((metadata['duration'] as number) - 11) < 0.1,
    `${label}: Metadata duration ${String(metadata['duration'])} s`,
  );
}

t.test('telephony: encoding=mulaw&sample_rate=8000 in 20 ms frames, as Twilio Media Streams send it', async (t) => {
  const { socket, log, closed } = await listen(await server(t), { encoding: 'mulaw', sample_rate: 8000 });
  await socket.waitForOpen();
  await sendPacedBytes(audioFixture('jfk-8k.ulaw'), { bytesPerS: 8000, chunkMs: 20, speed: 2 }, (chunk) =>
    socket.sendMedia(chunk),
  );
  socket.sendCloseStream({ type: 'CloseStream' });
  t.match(await closed, { code: 1000 });
  t.notOk(
    log.messages.some((m) => m['type'] === 'Error'),
    'no errors',
  );
  checkJfk(t, log, 'mu-law');
});

t.test('no encoding: WebM/Opus as MediaRecorder streams it (250 ms chunks), found from its first bytes', async (t) => {
  const app = await server(t);
  const webm = audioFixture('jfk.webm');
  const { socket, log, closed } = await listen(app, {}, KEY, true);
  await socket.waitForOpen();
  await sendPacedBytes(webm, { bytesPerS: webm.length / 11, chunkMs: 250, speed: 2 }, (chunk) =>
    socket.sendMedia(chunk),
  );
  socket.sendCloseStream({ type: 'CloseStream' });
  t.match(await closed, { code: 1000 });
  t.notOk(
    log.messages.some((m) => m['type'] === 'Error'),
    'no errors',
  );
  checkJfk(t, log, 'WebM/Opus');

  const ogg = audioFixture('jfk.opus');
  const opus = await listen(app, { encoding: 'ogg-opus' }, KEY, true);
  await opus.socket.waitForOpen();
  await sendPacedBytes(ogg, { bytesPerS: ogg.length / 11, chunkMs: 500, speed: 4 }, (chunk) =>
    opus.socket.sendMedia(chunk),
  );
  opus.socket.sendCloseStream({ type: 'CloseStream' });
  t.match(await opus.closed, { code: 1000 });
  checkJfk(t, opus.log, 'Ogg/Opus (encoding=ogg-opus)');

  // Not a container at all: one Error, then every later message is refused the same way.
  const garbage = await listen(app, {}, KEY, true);
  await garbage.socket.waitForOpen();
  garbage.socket.sendMedia(Buffer.from('this is not audio in any container'));
  t.match(await garbage.log.waitFor((m) => m['type'] === 'Error'), { code: 'BAD_AUDIO', description: /no container/ });
  garbage.socket.sendCloseStream({ type: 'CloseStream' });
  await garbage.closed;
});

t.test('authentication: Token and Bearer headers and the browser subprotocols; anything else gets 401', async (t) => {
  const app = await server(t);
  const listenUrl = `ws://127.0.0.1:${app.port}/v1/listen`;
  const refusedBySdk = await listen(app, {}, 'not-the-key');
  t.match((await refusedBySdk.failed).message, /401/, 'the SDK reports the 401');
  refusedBySdk.socket.close();
  const query = '?encoding=linear16&sample_rate=16000';
  t.match(await refusedUpgrade(`${listenUrl}${query}`), {
    status: 401,
    body: { err_code: 'INVALID_AUTH', err_msg: /Authorization: Token/, request_id: /^[0-9a-f-]{36}$/ },
  });
  const wrong = { headers: { authorization: 'Token wrong' } };
  t.match(await refusedUpgrade(`${listenUrl}${query}`, wrong), { body: { err_msg: 'invalid credential' } });
  t.equal(
    await acceptedProtocol(`${listenUrl}${query}`, { headers: { authorization: `Bearer ${KEY}` } }),
    '',
    'Bearer',
  );
  t.equal(
    await acceptedProtocol(`${listenUrl}${query}`, {}, ['token', KEY]),
    'token',
    'the browser form echoes "token"',
  );
});

t.test("unusable query strings are refused at the handshake: 400, in Deepgram's shape", async (t) => {
  const listenUrl = `ws://127.0.0.1:${(await server(t)).port}/v1/listen`;
  const headers = { authorization: `Token ${KEY}` };
  const refusal = (query: string) => refusedUpgrade(`${listenUrl}?${query}`, { headers });
  const first = await refusal('encoding=speex&sample_rate=16000');
  t.match(first, {
    status: 400,
    body: { err_code: 'Bad Request', err_msg: /linear16, linear32, mulaw, alaw, opus/, request_id: /^[0-9a-f-]{36}$/ },
  });
  t.same(Object.keys(first.body).sort(), ['err_code', 'err_msg', 'request_id'], 'nothing else');
  t.match(await refusal('encoding=linear16'), { status: 400, body: { err_msg: /needs sample_rate/ } });
  t.match(await refusal('encoding=mulaw'), { status: 400, body: { err_msg: /needs sample_rate/ } });
  t.match(await refusal('encoding=linear16&sample_rate=4000'), {
    status: 400,
    body: { err_msg: /sample_rate must be a whole number from 8000 to 192000/ },
  });
  t.match(await refusal('encoding=linear16&sample_rate=16000&channels=9'), {
    status: 400,
    body: { err_msg: /channels/ },
  });
  t.match(await refusal('encoding=linear16&sample_rate=16000&language=xx'), {
    status: 400,
    body: { err_code: 'Bad Request', err_msg: /xx/ },
  });
  t.match(await refusal('encoding=linear16&sample_rate=16000&endpointing=soon'), {
    status: 400,
    body: { err_msg: /endpointing/ },
  });
  t.match(await refusal(`encoding=linear16&sample_rate=16000&keyterm=${'x'.repeat(2000)}`), {
    status: 400,
    body: { err_msg: /1024 bytes|prompt/ },
  });
});

t.test('a malformed message gets an Error message and the socket stays usable', async (t) => {
  const app = await server(t);
  const { socket, log, closed } = await listen(app, {});
  await socket.waitForOpen();
  socket.socket.send('{"type": "Nope"}');
  socket.socket.send('not json');
  socket.sendMedia(Buffer.alloc(3));
  const errors = (): Message[] => log.messages.filter((m) => m['type'] === 'Error');
  await log.waitFor((m) => m['code'] === 'ODD_FRAME_LENGTH');
  t.same(
    errors().map((m) => m['code']),
    ['UNPARSABLE_CLIENT_MESSAGE', 'UNPARSABLE_CLIENT_MESSAGE', 'ODD_FRAME_LENGTH'],
  );
  for (const error of errors()) t.same(Object.keys(error).sort(), ['code', 'description', 'type']);
  const stats = (await (await fetch(`${app.httpUrl}/stats`)).json()) as { sessions: { active: number } };
  t.equal(stats.sessions.active, 1, 'the session counts with the others');
  socket.sendKeepAlive({ type: 'KeepAlive' });
  await sendPaced(jfk.subarray(0, seconds(3)), { samplesPerS: 16000, chunkMs: 100, speed: 4 }, (chunk) =>
    socket.sendMedia(chunk),
  );
  socket.sendCloseStream({ type: 'CloseStream' });
  t.match(await closed, { code: 1000 });
  t.ok(
    results(log).some((m) => m['is_final'] === true),
    'audio after the errors was transcribed',
  );
  t.match(log.messages.at(-1), { type: 'Metadata', duration: 3 });
});

t.test('a stream that sends nothing is closed as Deepgram closes one: 1011, NET-0001', async (t) => {
  // Deepgram's own timeout is 10 s; the server's IDLE_TIMEOUT_MS, when shorter, closes the same way sooner.
  const { socket, closed } = await listen(await server(t, { IDLE_TIMEOUT_MS: '1500' }), {});
  await socket.waitForOpen();
  t.match(await within(closed, 'the idle close', 20_000), { code: 1011, reason: /^NET-0001/ });
});

t.test(
  "UtteranceEnd, as in Deepgram's example (utterance_end_ms=1000, interim_results, vad_events), never after less",
  async (t) => {
    const { socket, log, closed } = await listen(await server(t), {
      interim_results: 'true',
      vad_events: 'true',
      utterance_end_ms: 1000,
    });
    await socket.waitForOpen();
    // Speech, a 600 ms pause (shorter than utterance_end_ms, longer than the 400 ms that ends a turn), speech, a 2.5 s
    // pause, speech, silence: sent at 8 times real time, so the audio received runs well ahead of speech detection.
    const silence = (s: number): Int16Array => new Int16Array(seconds(s));
    const parts = [
      jfk.subarray(0, seconds(2.3)),
      silence(0.6),
      jfk.subarray(seconds(3.1), seconds(4.6)),
      silence(2.5),
      jfk.subarray(seconds(5.2), seconds(8)),
      silence(2.5),
    ];
    const audio = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      audio.set(part, at);
      at += part.length;
    }
    await sendPaced(audio, { samplesPerS: 16000, chunkMs: 100, speed: 8 }, (chunk) => socket.sendMedia(chunk));
    await within(
      log.waitFor((m) => m['type'] === 'UtteranceEnd'),
      'an UtteranceEnd',
      30_000,
    );
    socket.sendCloseStream({ type: 'CloseStream' });
    await within(closed, 'the close', 30_000);
    const starts = log.messages.filter((m) => m['type'] === 'SpeechStarted').map((m) => m['timestamp'] as number);
    const ends = log.messages.filter((m) => m['type'] === 'UtteranceEnd').map((m) => m['last_word_end'] as number);
    t.ok(ends.length >= 1, `UtteranceEnd after the long pauses (${ends.length})`);
    for (const end of ends) {
      const next = starts.find((start) => start > end);
      t.ok(
        next === undefined || next >= end + 1,
        `after the last word at ${end} s, speech resumed only at ${next ?? 'the end'} s`,
      );
    }
  },
);
