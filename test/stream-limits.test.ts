import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import t, { type Test } from 'tap';
import WebSocket from 'ws';
import { projectRoot } from '../engine/index.js';
import { speech, SILERO, TINY_EN } from './helpers/engine-fixtures.js';
import { checkOrdering, checkShapes } from './helpers/stream-checks.js';
import { StreamClient } from '../bench/lib/raw-stream-client.js';
import { startTestServer } from './helpers/stream-server.js';

const jfk = speech('jfk.wav');
const short = speech('7902-96591-0000.wav');

/** Every transcript is well formed and every segment ended with its final before the socket closed. */
function checkFinalized(t: Test, client: StreamClient): void {
  const transcripts = checkShapes(
    t,
    client.messages.map((m) => m.data),
  );
  checkOrdering(t, transcripts);
  t.ok(
    transcripts.some((m) => m.is_final),
    'the speech got its final before the close',
  );
}

t.test('over the session limit: 503 with Retry-After; resumes of existing sessions still work', async (t) => {
  const app = await startTestServer({ MAX_SESSIONS: '2' });
  t.teardown(() => app.close());
  const first = await StreamClient.connect(app.streamUrl);
  const session = await first.session();
  const second = await StreamClient.connect(app.streamUrl);
  await second.session();

  const ws = new WebSocket(app.streamUrl);
  const [, response] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
  t.equal(response.statusCode, 503);
  t.match(response.headers['retry-after'], /^\d+$/, 'Retry-After says when to try again');

  const resumed = await StreamClient.connect(
    `${app.streamUrl}?session_id=${session.session_id}&resume_token=${session.resume_token}`,
  );
  t.match(await resumed.waitFor((m) => m['type'] === 'resumed'), { session_id: session.session_id });
  for (const client of [second, resumed]) t.equal((await client.end()).code, 1000);
  const again = await StreamClient.connect(app.streamUrl);
  t.ok((await again.session()).session_id, 'room again once sessions ended');
  t.equal((await again.end()).code, 1000);
});

t.test('the session limit also holds for connections the handshake let through', async (t) => {
  const app = await startTestServer({ MAX_SESSIONS: '1' });
  t.teardown(() => app.close());
  const speechUrl = app.streamUrl.replace(/\/stream$/, '/speech');
  // Two /speech sockets pass the handshake while no session exists; only one may start a session.
  const speakers = await Promise.all([StreamClient.connect(speechUrl), StreamClient.connect(speechUrl)]);
  speakers[0]?.sendJson({ type: 'start' });
  await speakers[0]?.waitFor((m) => m['event'] === 'started');
  speakers[1]?.sendJson({ type: 'start' });
  t.match(await speakers[1]?.waitFor((m) => m['event'] === 'transcription-error'), {
    data: { code: 'too_many_sessions', message: /maximum of 1 sessions/ },
  });

  // A resume that fails falls back on a new session only if there is room for one.
  const bogus = await StreamClient.connect(`${app.streamUrl}?session_id=nope&resume_token=nope`);
  t.equal((await bogus.closed).code, 1013, 'closed: try again later');
  t.same(
    bogus.errors().map((e) => e['code']),
    ['resume_failed', 'too_many_sessions'],
  );
  t.notOk(
    bogus.messages.some((m) => m.data['type'] === 'session'),
    'no session was created',
  );
  const stats = (await (await fetch(`${app.httpUrl}/stats`)).json()) as { sessions: { active: number } };
  t.equal(stats.sessions.active, 1, 'still one session');

  speakers[0]?.sendJson({ type: 'stop' });
  await speakers[0]?.waitFor((m) => m['event'] === 'stopped');
  speakers[1]?.sendJson({ type: 'start' });
  t.ok(await speakers[1]?.waitFor((m) => m['event'] === 'started'), 'room again after the stop');
  for (const speaker of speakers) speaker.ws.close(1000);
});

t.test('idle timeout and maximum session duration finalize, then close with their codes', async (t) => {
  const app = await startTestServer({ IDLE_TIMEOUT_MS: '500', MAX_SESSION_MS: '2000' });
  t.teardown(() => app.close());

  const idle = await StreamClient.connect(app.streamUrl);
  // jfk.wav speaks from 0.32 s to 2.27 s: the audio stops mid-utterance.
  await idle.stream(jfk.subarray(0, 16000 * 1.5), { speed: 4, frameMs: 20 });
  t.equal((await idle.closed).code, 4002, 'idle: 4002');
  checkFinalized(t, idle);

  const long = await StreamClient.connect(app.streamUrl);
  void long.stream(jfk, { speed: 1, frameMs: 20 });
  t.equal((await long.closed).code, 4003, 'maximum duration: 4003');
  checkFinalized(t, long);
});

t.test(
  'a session whose finals fall behind is warned "overloaded", is read no faster than they come, and gets every final',
  async (t) => {
    // Pings every 50 ms: a socket the server stops reading must not be taken for a dead one.
    const app = await startTestServer({ OVERLOAD_PENDING_MS: '1000', POOL_SIZE: '1', PING_INTERVAL_MS: '50' });
    t.teardown(() => app.close());
    const client = await StreamClient.connect(app.streamUrl);
    // All 11 s at once, far faster than one worker transcribes: ended utterances pile up behind it.
    for (let at = 0; at < jfk.length; at += 16000) {
      const frame = jfk.subarray(at, Math.min(at + 16000, jfk.length));
      client.sendBytes(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
    }
    t.match(await client.waitFor((m) => m['type'] === 'error'), { code: 'overloaded', message: /behind/ });
    t.equal((await client.end()).code, 1000);
    const transcripts = checkShapes(
      t,
      client.messages.map((m) => m.data),
    );
    checkOrdering(t, transcripts);
    t.ok(transcripts.filter((m) => m.is_final).length >= 3, 'every utterance got its final');
    t.equal(
      transcripts.at(-1)?.end_ms,
      jfk.length / 16,
      'the last final reaches the end of the audio: nothing was dropped',
    );
    const metrics = await (await fetch(`${app.httpUrl}/metrics`)).text();
    t.match(metrics, /^stt_reads_paused_total [1-9]/m, 'reading paused while more than twice the bound was behind');
  },
);

t.test('SIGTERM: sessions mid-utterance get their finals, then 1001, then the process exits', async (t) => {
  // Acks every 100 ms of audio tell the test when the server holds all 1.5 s, before the signal.
  const env = { ...process.env, WHISPER_MODEL: TINY_EN, VAD_MODEL: SILERO, LOG_LEVEL: 'info', ACK_INTERVAL_MS: '100' };
  const child = spawn(process.execPath, [join(projectRoot, 'dist/server/main.js'), '--port', '0'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  let port = 0;
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (entry['msg'] === 'listening') port = entry['port'] as number;
    if (entry['msg'] === 'ready') break;
  }
  child.stdout.resume();
  const url = `ws://127.0.0.1:${port}/stream`;
  const clients = await Promise.all([StreamClient.connect(url), StreamClient.connect(url)]);
  await Promise.all([
    clients[0]?.stream(jfk.subarray(0, 16000 * 1.5), { speed: 4, frameMs: 20 }),
    clients[1]?.stream(short.subarray(0, 16000 * 1.5), { speed: 4, frameMs: 20 }),
  ]);
  await Promise.all(clients.map((c) => c.waitFor((m) => m['type'] === 'ack' && m['audio_ms'] === 1500)));
  child.kill('SIGTERM');
  for (const client of clients) {
    t.equal((await client.closed).code, 1001, 'closed as going away');
    checkFinalized(t, client);
    const finals = client.transcripts().filter((m) => m['is_final'] === true);
    t.equal(finals.at(-1)?.['end_ms'], 1500, 'the last final covers the audio up to the signal');
  }
  const [code] = (await exited) as [number];
  t.equal(code, 0, 'clean exit');
});
