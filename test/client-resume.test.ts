import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { within } from '../bench/lib/wait.js';
import { StreamClient, type Transcript } from '../client/index.js';
import { speech } from './helpers/engine-fixtures.js';
import { startTestServer } from './helpers/stream-server.js';
import { collect, play } from './helpers/client-playback.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

const jfk = speech('jfk.wav');
const SPEED = 4;

const finals = (messages: Transcript[]): { text: string; start_ms: number; end_ms: number }[] =>
  messages.filter((m) => m.is_final).map(({ text, start_ms, end_ms }) => ({ text, start_ms, end_ms }));

t.test(
  'the client library recovers from two dropped connections by itself; finals equal the uninterrupted run',
  async (t) => {
    // Greedy finals are exactly repeatable, so the two runs can be compared word for word.
    const app = await startTestServer({ FINAL_BEAM_SIZE: '1', POOL_SIZE: '1' });
    t.teardown(() => app.close());

    const reference = new StreamClient(app.streamUrl);
    const referenceMessages = collect(reference);
    await reference.connect();
    await play(reference, jfk, SPEED);
    t.equal((await reference.end()).code, 1000);
    const expected = finals(referenceMessages);
    t.ok(expected.length >= 2, 'the reference run has finals to compare');

    const proxy = await TcpProxy.start(Number(new URL(app.streamUrl).port));
    t.teardown(() => proxy.close());
    const client = new StreamClient(app.streamUrl.replace(/:\d+\//, `:${proxy.port}/`), { reconnectDelayMs: 50 });
    const messages = collect(client);
    const sessions: boolean[] = [];
    client.on('session', (s) => sessions.push(s.resumed));
    let reconnects = 0;
    client.on('reconnecting', () => reconnects++);
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.code));
    await client.connect();
    // Mid-utterance in both places: jfk.wav speaks from 3.27 to 4.41 s and from 8.16 to 10.62 s.
    await play(
      client,
      jfk,
      SPEED,
      new Map([
        [16000 * 3.8, () => proxy.cut()],
        [16000 * 9, () => proxy.cut()],
      ]),
    );
    t.equal((await client.end()).code, 1000, 'the session ends normally');

    t.equal(reconnects, 2, 'two reconnects');
    t.same(sessions, [false, true, true], 'one new session, resumed twice');
    t.equal(proxy.connections, 3, 'three TCP connections in all');
    t.same(errors, [], 'no errors');
    t.same(finals(messages), expected, 'the same finals as without the drops');
    const seqs = messages.map((m) => m.seq);
    t.same(
      seqs,
      [...new Set(seqs)].sort((a, b) => a - b),
      'no transcript delivered twice, all in order',
    );
    t.equal(client.samplesSent, jfk.length, 'every sample was handed over');
  },
);

t.test('close() during a reconnect backoff stops reconnecting', async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  const proxy = await TcpProxy.start(Number(new URL(app.streamUrl).port));
  t.teardown(() => proxy.close());
  const reconnectDelayMs = 200;
  const client = new StreamClient(app.streamUrl.replace(/:\d+\//, `:${proxy.port}/`), { reconnectDelayMs });
  const closed: number[] = [];
  client.on('closed', (c) => closed.push(c.code));
  await client.connect();
  const reconnecting = new Promise((resolve) => client.on('reconnecting', resolve));
  proxy.cut();
  await within(reconnecting, 'the reconnecting event after the cut');
  client.close();
  // Not a synchronisation: the window in which the cancelled reconnect would have connected, three times its delay.
  await sleep(3 * reconnectDelayMs);
  t.equal(proxy.connections, 1, 'no connection was opened after close()');
  t.same(closed, [1000], 'closed once');
});

t.test('end() followed by a drop: the client resumes and still gets the last final', async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  const proxy = await TcpProxy.start(Number(new URL(app.streamUrl).port));
  t.teardown(() => proxy.close());
  const client = new StreamClient(app.streamUrl.replace(/:\d+\//, `:${proxy.port}/`), { reconnectDelayMs: 20 });
  const messages = collect(client);
  await client.connect();
  // Ends inside the 17 s utterance of silero_test_en.wav, whose final takes a while to compute.
  await play(client, speech('silero_test_en.wav').subarray(16000 * 20, 16000 * 33), SPEED);
  const relayed = proxy.bytesToServer;
  const done = client.end();
  // The end message is on its way to the server, which has not read it yet, let alone sent the final.
  await proxy.untilToServer(relayed);
  proxy.cut();
  t.equal((await done).code, 1000, 'ended normally on the resumed connection');
  t.equal(proxy.connections, 2, 'one reconnect');
  t.match(messages.at(-1), { is_final: true, end_ms: 13000 }, 'the final of the audio before end()');
});

t.test('the client resamples any rate and channel count to 16 kHz mono', async (t) => {
  const { Resampler } = await import('../client/index.js');
  const stereo48k = new Float32Array(48000 * 2);
  for (let i = 0; i < 48000; i++) {
    const v = Math.sin((2 * Math.PI * 440 * i) / 48000) * 0.5;
    stereo48k[2 * i] = v;
    stereo48k[2 * i + 1] = v;
  }
  const resampler = new Resampler(48000, 2);
  const pieces = [stereo48k.subarray(0, 30000), stereo48k.subarray(30000, 60000), stereo48k.subarray(60000)];
  // flush(): the last samples, held back for the filter's look-ahead until the stream ends.
  const out = [...pieces.map((p) => resampler.process(p)), resampler.flush()];
  const total = out.reduce((n, p) => n + p.length, 0);
  t.equal(total, 16000, 'one second in gives one second out');
  const joined = new Int16Array(total);
  let at = 0;
  for (const p of out) {
    joined.set(p, at);
    at += p.length;
  }
  let maxError = 0;
  // Away from the ends, where the tone starts and stops abruptly (a click the filter rings on).
  for (let i = 50; i < total - 50; i++)
    maxError = Math.max(
      maxError,
      Math.abs((joined[i] as number) - Math.round(Math.sin((2 * Math.PI * 440 * i) / 16000) * 0.5 * 32768)),
    );
  t.ok(maxError < 40, `the 440 Hz tone survives, across chunk boundaries too (max error ${maxError} of 16384)`);
  t.throws(() => new Resampler(0), RangeError);
});
