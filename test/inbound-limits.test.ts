// What a connection may send, end to end: audio queued behind a stalled event loop is not held against the client,
// control messages and utterance-ending ones have budgets of their own, text is bounded before it is parsed, and a
// client that does not read is dropped whatever the server was sending it.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Opcode, RawWebSocket } from '../bench/lib/attack-clients.js';
import { StreamClient } from '../bench/lib/raw-stream-client.js';
import { speech } from './helpers/engine-fixtures.js';
import { ServerProcess } from './helpers/server-process.js';
import { startTestServer } from './helpers/stream-server.js';
import { within } from '../bench/lib/wait.js';

const jfk = speech('jfk.wav');
const DEEPGRAM = '/v1/listen?encoding=linear16&sample_rate=16000';

t.test(
  'a 3 s event-loop stall: the 10 ms frames queued meanwhile, read in one burst, do not close the client',
  async (t) => {
    const server = await ServerProcess.start(0, {});
    t.teardown(() => server.stop('SIGKILL'));
    const client = await StreamClient.connect(server.streamUrl);
    await within(client.session(), 'the session', 10_000);
    // The stall is the server process stopped (SIGSTOP) while the client streams on: 300 frames wait in the kernel.
    const stall = (async () => {
      await sleep(2000);
      server.run.signal('SIGSTOP');
      await sleep(3000);
      server.run.signal('SIGCONT');
    })();
    await client.stream(jfk.subarray(0, 16000 * 8), { speed: 1, frameMs: 10 });
    await stall;
    const closed = await within(client.end(), 'the session to end', 60_000);
    t.equal(closed.code, 1000, 'ended normally');
    t.same(client.errors(), [], 'nothing refused');
    const acks = client.messages.filter((m) => m.data['type'] === 'ack').map((m) => m.data['audio_ms']);
    t.equal(acks.at(-1), 8000, 'every sample received');
  },
);

t.test('messages without audio: a flood of them is closed with 1008 after twice MAX_CONTROL_PER_S', async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  const stream = await StreamClient.connect(app.streamUrl);
  await stream.session();
  for (let i = 0; i < 150 && stream.ws.readyState === stream.ws.OPEN; i++) stream.sendJson({ words: true });
  t.equal((await within(stream.closed, '/stream to be closed', 10_000)).code, 1008, '/stream config messages');
  t.match(stream.errors().at(-1), { code: 'rate_limited', message: /more than 10 messages without audio a second/ });
  const deepgram = await StreamClient.connect(`ws://127.0.0.1:${app.port}${DEEPGRAM}`);
  for (let i = 0; i < 150 && deepgram.ws.readyState === deepgram.ws.OPEN; i++) deepgram.sendJson({ type: 'KeepAlive' });
  t.equal((await within(deepgram.closed, 'Deepgram to be closed', 10_000)).code, 1008, 'Deepgram KeepAlive');
});

t.test('utterance-ending messages past MAX_FLUSHES_PER_S wait their turn; none is refused', async (t) => {
  const app = await startTestServer({ MAX_FLUSHES_PER_S: '2' });
  t.teardown(() => app.close());
  const client = await StreamClient.connect(`ws://127.0.0.1:${app.port}${DEEPGRAM}`);
  // No audio: each Finalize is answered (with an empty from_finalize Results) as soon as it has run.
  for (let i = 0; i < 8; i++) client.sendJson({ type: 'Finalize' });
  const answered = (n: number): Promise<unknown> =>
    client.waitFor(() => client.messages.filter((m) => m.data['from_finalize'] === true).length >= n);
  await within(answered(5), 'the first five Finalize to be answered', 30_000);
  await within(answered(8), 'all eight Finalize to be answered', 30_000);
  const times = client.messages.filter((m) => m.data['from_finalize'] === true).map((m) => m.at);
  // The sixth waits about 0.5 s after the burst of five, the seventh 1 s, the eighth 1.5 s (less what refilled
  // meanwhile).
  t.ok(
    (times[7] as number) - (times[0] as number) >= 1000,
    `the last answered ${Math.round((times[7] as number) - (times[0] as number))} ms after the first`,
  );
  client.sendJson({ type: 'CloseStream' });
  t.equal(
    (await within(client.closed, 'the session to end', 30_000)).code,
    1000,
    'the connection was never closed for them',
  );
});

t.test(
  'text past its protocol’s bound, in bytes or in JSON structure, closes the connection with 1009 before it is parsed',
  async (t) => {
    const app = await startTestServer();
    t.teardown(() => app.close());
    const stream = await StreamClient.connect(app.streamUrl);
    await stream.session();
    // A valid JSON object of 20 KB: 2,000 keys.
    stream.sendJson(Object.fromEntries([['words', true], ...Array.from({ length: 2000 }, (_, i) => [`k${i}`, i])]));
    t.equal(
      (await within(stream.closed, '/stream to be closed', 10_000)).code,
      1009,
      '/stream: 20 KB of configuration',
    );
    t.match(stream.errors().at(-1), { code: 'frame_too_large', message: /at most 16384 bytes/ });
    const deepgram = await StreamClient.connect(`ws://127.0.0.1:${app.port}${DEEPGRAM}`);
    deepgram.sendJson(
      Object.fromEntries([['type', 'KeepAlive'], ...Array.from({ length: 90_000 }, (_, i) => [`k${i}`, 0])]),
    );
    t.equal((await within(deepgram.closed, 'Deepgram to be closed', 10_000)).code, 1009, 'Deepgram: a 1 MB KeepAlive');
    // Realtime takes 1 MiB of text (its audio is base64), but not 90,000 keys: parsing them took half a second.
    const realtime = await StreamClient.connect(`ws://127.0.0.1:${app.port}/v1/realtime?intent=transcription`);
    realtime.sendJson(
      Object.fromEntries([['type', 'session.update'], ...Array.from({ length: 90_000 }, (_, i) => [`k${i}`, 0])]),
    );
    t.equal(
      (await within(realtime.closed, 'Realtime to be closed', 10_000)).code,
      1009,
      'Realtime: 1 MB of 90,000 keys',
    );
    t.equal((await fetch(`${app.httpUrl}/healthz`)).status, 200, 'alive');
  },
);

t.test(
  'a client that never reads is dropped once MAX_BUFFERED_BYTES wait for it, whatever the server was sending',
  async (t) => {
    // Its text is charged as audio: a high MAX_AUDIO_RATE keeps it from being paced, so the test is quick.
    const app = await startTestServer({
      MAX_BUFFERED_BYTES: '65536',
      MAX_CONTROL_PER_S: '10000',
      MAX_AUDIO_RATE: '100',
    });
    t.teardown(() => app.close());
    const open = await RawWebSocket.open(`ws://127.0.0.1:${app.port}/v1/realtime?intent=transcription`);
    if (!('ws' in open)) throw new Error(`upgrade refused: ${open.status}`);
    const ws = open.ws;
    t.teardown(() => ws.destroy());
    ws.pauseReading();
    // Each update is confirmed with a session.updated quoting its 1 KB prompt; no transcript is ever sent.
    const update = Buffer.from(
      JSON.stringify({
        type: 'session.update',
        session: { type: 'transcription', audio: { input: { transcription: { prompt: 'p'.repeat(1000) } } } },
      }),
    );
    let sent = 0;
    while (!ws.socket.destroyed && sent < 40_000) {
      sent++;
      if (!ws.send(Opcode.text, update)) await ws.drained(1000);
    }
    await within(ws.socketClosed, 'the server to drop the connection', 10_000);
    t.ok(sent < 40_000, `dropped after ${sent} updates`);
  },
);

t.test('a never-reading client writing 900 KB text frames is read no more after the first, and dropped', async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  const open = await RawWebSocket.open(app.streamUrl);
  if (!('ws' in open)) throw new Error(`upgrade refused: ${open.status}`);
  const ws = open.ws;
  t.teardown(() => ws.destroy());
  ws.pauseReading();
  const junk = Buffer.from(`{"language":"${'x'.repeat(900 * 1024)}"}`);
  let written = 0;
  while (!ws.socket.destroyed && written < 300) {
    written++;
    if (!ws.send(Opcode.text, junk) && !(await ws.drained(1000))) break;
  }
  await within(ws.socketClosed, 'the server to drop the connection', 10_000);
  // What the kernel's buffers took on both sides: the server itself read one.
  t.ok(written < 40, `the client could write ${written} before the server stopped reading`);
});
