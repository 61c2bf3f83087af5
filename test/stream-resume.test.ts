import t from 'tap';
import { pollUntil } from '../bench/lib/wait.js';
import type { App } from '../server/app.js';
import { speech } from './helpers/engine-fixtures.js';
import { checkOrdering, checkShapes, type Transcript } from './helpers/stream-checks.js';
import { StreamClient } from '../bench/lib/raw-stream-client.js';
import { startTestServer } from './helpers/stream-server.js';

const jfk = speech('jfk.wav');
const SPEED = 4;

interface Stats {
  sessions: { active: number; attached: number; detached: number };
}

const stats = async (app: App): Promise<Stats> => (await (await fetch(`${app.httpUrl}/stats`)).json()) as Stats;

/** Polls /stats until `done` holds; fails with the last stats after the default wait. */
const statsUntil = (app: App, done: (s: Stats) => boolean): Promise<Stats> => pollUntil(() => stats(app), done);

const finalsOf = (transcripts: Transcript[]): { text: string; start_ms: number; end_ms: number }[] =>
  transcripts.filter((m) => m.is_final).map(({ text, start_ms, end_ms }) => ({ text, start_ms, end_ms }));

const lastSeq = (client: StreamClient): number => Math.max(-1, ...client.transcripts().map((m) => m['seq'] as number));

t.test('a session survives two dropped connections: finals as uninterrupted, no seq lost or repeated', async (t) => {
  // Greedy finals do not depend on anything but their audio and prompt, so the two runs compare word for word.
  const app = await startTestServer({ FINAL_BEAM_SIZE: '1', PING_INTERVAL_MS: '1000' });
  t.teardown(() => app.close());

  const reference = await StreamClient.connect(app.streamUrl);
  await reference.stream(jfk, { speed: SPEED, frameMs: 20 });
  t.equal((await reference.end()).code, 1000);
  const expected = finalsOf(
    checkShapes(
      t,
      reference.messages.map((m) => m.data),
    ),
  );
  t.ok(expected.length >= 2, 'the reference run has several finals');

  const first = await StreamClient.connect(app.streamUrl);
  const session = await first.session();
  t.equal(session.resume_ttl_ms, 30000, 'the default resume window is announced');
  // Mid-utterance: jfk.wav speaks from 3.1 s to 4.5 s.
  await first.stream(jfk.subarray(0, 16000 * 4.2), { speed: SPEED, frameMs: 20 });
  t.ok(
    first.messages.some((m) => m.data['type'] === 'ack'),
    'acks came while audio arrived',
  );
  first.drop();
  await statsUntil(app, (s) => s.sessions.detached === 1);

  // Resume in the query string.
  const query = `session_id=${session.session_id}&resume_token=${session.resume_token}&last_seq=${lastSeq(first)}`;
  const second = await StreamClient.connect(`${app.streamUrl}?${query}`);
  const resumed = await second.waitFor((m) => m['type'] === 'resumed');
  t.equal(resumed['session_id'], session.session_id);
  t.equal(second.messages[0]?.data['type'], 'resumed', 'resumed comes first: no new session is announced');
  const at1 = (resumed['audio_ms'] as number) * 16;
  t.ok(at1 > 0 && at1 <= 16000 * 4.2, 'audio_ms counts what the server received');
  await second.stream(jfk.subarray(at1, 16000 * 7.5), { speed: SPEED, frameMs: 20 });
  second.drop();
  await statsUntil(app, (s) => s.sessions.detached === 1);

  // Resume as the first message: the session announced on this connection is dropped in its favour.
  const third = await StreamClient.connect(app.streamUrl);
  const discarded = await third.session();
  third.sendJson({
    type: 'resume',
    session_id: session.session_id,
    resume_token: session.resume_token,
    last_seq: Math.max(lastSeq(first), lastSeq(second)),
  });
  const again = await third.waitFor((m) => m['type'] === 'resumed');
  t.not(discarded.session_id, session.session_id);
  const at2 = (again['audio_ms'] as number) * 16;
  t.ok(at2 > at1 && at2 <= 16000 * 7.5, 'audio_ms moved on with the second connection');
  await third.stream(jfk.subarray(at2), { speed: SPEED, frameMs: 20 });
  t.equal((await third.end()).code, 1000);

  const all = [first, second, third].flatMap((client) =>
    checkShapes(
      t,
      client.messages.map((m) => m.data),
    ),
  );
  checkOrdering(t, all);
  t.same(
    [first, second, third].flatMap((c) => c.errors()),
    [],
    'no errors',
  );
  t.same(finalsOf(all), expected, 'the same finals as the uninterrupted run, each once');
  t.equal(third.messages.at(-1)?.data['type'], 'transcript', 'the last final arrived before the close');
  t.same(
    (await statsUntil(app, (s) => s.sessions.active === 0)).sessions,
    { active: 0, attached: 0, detached: 0 },
    'every session is gone',
  );
});

t.test('resending from audio_ms counts no sample twice, whatever the frame sizes', async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  const audioSeconds = async (): Promise<number> => {
    const text = await (await fetch(`${app.httpUrl}/metrics`)).text();
    return Number(/^stt_audio_received_seconds_total (\S+)$/m.exec(text)?.[1]);
  };
  const pcm = jfk.subarray(0, 3200);
  const first = await StreamClient.connect(app.streamUrl);
  const session = await first.session();
  // 1007 samples: not a whole number of milliseconds.
  first.sendBytes(new Uint8Array(pcm.buffer, pcm.byteOffset, 1007 * 2));
  await pollUntil(audioSeconds, (seconds) => seconds >= 1007 / 16000, { intervalMs: 10 });
  first.drop();
  await statsUntil(app, (s) => s.sessions.detached === 1);

  const second = await StreamClient.connect(
    `${app.streamUrl}?session_id=${session.session_id}&resume_token=${session.resume_token}`,
  );
  const resumed = await second.waitFor((m) => m['type'] === 'resumed');
  t.equal(resumed['audio_ms'], 62, 'audio_ms is rounded down: the client never drops audio the server lacks');
  const rest = pcm.subarray(62 * 16);
  second.sendBytes(new Uint8Array(rest.buffer, rest.byteOffset, rest.byteLength));
  t.equal((await second.end()).code, 1000);
  t.equal(await audioSeconds(), pcm.length / 16000, 'the 15 samples sent twice were counted once');
});

t.test('a session resumed while it ends still delivers its last final, then closes with 1000', async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  // Inside the 17 s utterance of silero_test_en.wav (speech from 20.3 s): the final of 13 s of speech takes a while.
  const long = speech('silero_test_en.wav').subarray(16000 * 20, 16000 * 33);
  const first = await StreamClient.connect(app.streamUrl);
  const session = await first.session();
  await first.stream(long, { speed: SPEED, frameMs: 20 });
  const seen = lastSeq(first);
  await new Promise((resolve) => first.ws.send(JSON.stringify({ type: 'end' }), resolve));
  first.drop();

  const second = await StreamClient.connect(
    `${app.streamUrl}?session_id=${session.session_id}&resume_token=${session.resume_token}&last_seq=${seen}`,
  );
  t.equal((await second.closed).code, 1000, 'closed as ended, once everything was delivered');
  t.equal(second.messages[0]?.data['type'], 'resumed');
  const transcripts = checkShapes(
    t,
    second.messages.map((m) => m.data),
  );
  t.same(
    transcripts.map((m) => m.seq),
    transcripts.map((_, i) => seen + 1 + i),
    'exactly the transcripts after last_seq',
  );
  t.match(
    transcripts.at(-1),
    { is_final: true, end_ms: 13000 },
    'the final of the audio ended by the first connection',
  );
  t.same((await statsUntil(app, (s) => s.sessions.active === 0)).sessions, { active: 0, attached: 0, detached: 0 });
});

t.test('resume window, replacement and dead-peer detection', async (t) => {
  const app = await startTestServer({ RESUME_TTL_MS: '300', PING_INTERVAL_MS: '100' });
  t.teardown(() => app.close());

  await t.test('a second socket for a live session replaces the first with 4001', async (t) => {
    const first = await StreamClient.connect(app.streamUrl);
    const session = await first.session();
    first.sendBytes(new Uint8Array(jfk.buffer, 0, 32000));
    const second = await StreamClient.connect(
      `${app.streamUrl}?session_id=${session.session_id}&resume_token=${session.resume_token}`,
    );
    t.match(await second.waitFor((m) => m['type'] === 'resumed'), { session_id: session.session_id });
    t.equal((await first.closed).code, 4001, 'the first socket is closed as replaced');
    t.match((await stats(app)).sessions, { active: 1, attached: 1 });
    t.equal((await second.end()).code, 1000);
  });

  await t.test('after the resume window the session is purged and a resume is refused', async (t) => {
    const client = await StreamClient.connect(app.streamUrl);
    const session = await client.session();
    await client.stream(jfk.subarray(0, 16000), { speed: SPEED, frameMs: 20 });
    client.drop();
    t.match(
      (await statsUntil(app, (s) => s.sessions.detached === 1)).sessions,
      { active: 1, attached: 0 },
      'detached while the window is open',
    );
    t.same(
      (await statsUntil(app, (s) => s.sessions.active === 0)).sessions,
      { active: 0, attached: 0, detached: 0 },
      'purged after it',
    );

    const late = await StreamClient.connect(
      `${app.streamUrl}?session_id=${session.session_id}&resume_token=${session.resume_token}&last_seq=-1`,
    );
    const error = await late.waitFor((m) => m['type'] === 'error');
    t.match(error, { code: 'resume_failed', message: /no such session/ });
    const fresh = await late.session();
    t.not(fresh.session_id, session.session_id, 'the connection goes on with a new session');
    late.sendJson({ type: 'resume', session_id: session.session_id, resume_token: session.resume_token, last_seq: -1 });
    t.match(
      await late.waitFor((m) => m['type'] === 'error' && m !== error),
      { code: 'resume_failed' },
      'as a message too',
    );
    t.equal((await late.end()).code, 1000);
  });

  await t.test('a wrong token is refused, and a resume message is only valid first', async (t) => {
    const owner = await StreamClient.connect(app.streamUrl);
    const session = await owner.session();
    const thief = await StreamClient.connect(`${app.streamUrl}?session_id=${session.session_id}&resume_token=guess`);
    t.match(await thief.waitFor((m) => m['type'] === 'error'), {
      code: 'resume_failed',
      message: /wrong resume token/,
    });
    thief.sendBytes(new Uint8Array(320));
    thief.sendJson({ type: 'resume', session_id: session.session_id, resume_token: session.resume_token });
    t.match(await thief.waitFor((m) => m['code'] === 'bad_message'), { message: /first message/ });
    t.equal((await thief.end()).code, 1000);
    t.equal((await owner.end()).code, 1000, 'the owner kept its session');
  });

  await t.test('a peer that stops answering pings is dropped, then purged', async (t) => {
    const client = await StreamClient.connect(app.streamUrl);
    await client.session();
    // A paused socket reads nothing, so pings go unanswered as over a dead network path.
    (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await statsUntil(app, (s) => s.sessions.detached === 1);
    t.same((await statsUntil(app, (s) => s.sessions.active === 0)).sessions, { active: 0, attached: 0, detached: 0 });
    client.drop();
  });
});
