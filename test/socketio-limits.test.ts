// Socket.IO's /speech under hostile and careless clients: audio at other rates is converted intact, one connection
// holds one /speech socket, handshakes that never join are bounded, long-polling audio is bounded like websocket audio,
// and shutdown does not wait on a client that stops reading.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import WebSocket from 'ws';
import { MAX_PENDING_PER_ADDRESS } from '../server/socketio/engine-admission.js';
import { speech } from './helpers/engine-fixtures.js';
import { ServerProcess } from './helpers/server-process.js';
import { SpeechIoClient, type Received } from './helpers/socketio-client.js';
import { startTestServer } from './helpers/stream-server.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { within } from '../bench/lib/wait.js';

const jfk = speech('jfk.wav');
const errorCodes = (client: SpeechIoClient): unknown[] =>
  client.events.filter((e) => e.name === 'transcription-error').map((e) => e.payload['code']);
const finals = (events: Received[]): unknown[] =>
  events.filter((e) => e.name === 'transcription-final').map((e) => e.payload['text']);

t.test(
  '8 kHz audio as {audio, sampleRate} in 20 ms and 100 ms chunks: every chunk taken, the same finals either way',
  async (t) => {
    // Greedy finals on one worker are exactly repeatable, so the two chunkings can be compared word for word.
    const app = await startTestServer({ FINAL_BEAM_SIZE: '1', POOL_SIZE: '1' });
    t.teardown(() => app.close());
    const narrow = new Int16Array(Math.floor(jfk.length / 2)).map((_, i) => jfk[2 * i] as number);
    const runs: unknown[][] = [];
    for (const chunkMs of [20, 100]) {
      const client = await SpeechIoClient.connect(app.httpUrl, { transports: ['websocket'] });
      t.teardown(() => client.close());
      await within(client.ack('start-transcription'), 'the start acknowledgement', 10_000);
      const chunk = 8 * chunkMs;
      const started = performance.now();
      for (let at = 0, i = 0; at < narrow.length; at += chunk, i++) {
        // Twice real time, against the clock.
        const wait = started + (i * chunkMs) / 2 - performance.now();
        if (wait > 0) await sleep(wait);
        client.socket.emit('audio-chunk', {
          audio: Buffer.from(narrow.slice(at, at + chunk).buffer),
          sampleRate: 8000,
        });
      }
      await within(client.ack('stop-transcription'), 'the stop acknowledgement', 60_000);
      t.same(errorCodes(client), [], `${chunkMs} ms chunks: no chunk refused`);
      runs.push(finals(client.events));
      client.close();
    }
    t.ok((runs[0]?.length ?? 0) >= 2, `finals came (${runs[0]?.length})`);
    t.same(runs[1], runs[0], 'the same finals from 20 ms and 100 ms chunks');
  },
);

t.test('3,000 namespace connects on one connection: one /speech socket, then the connection is closed', async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  const ws = new WebSocket(`ws://127.0.0.1:${app.port}/socket.io/?EIO=4&transport=websocket`);
  t.teardown(() => ws.terminate());
  const received: string[] = [];
  ws.on('message', (data) => received.push(data.toString()));
  await within(new Promise((resolve) => ws.once('message', resolve)), 'the Engine.IO open packet', 10_000);
  for (let i = 0; i < 3000; i++) ws.send('40/speech,');
  await within(new Promise((resolve) => ws.once('close', resolve)), 'the server to close the connection', 10_000);
  const sockets = received.filter((m) => m.startsWith('40/speech,{"sid"')).length;
  t.ok(sockets <= 1, `${sockets} /speech socket(s) connected`);
  const stats = (await (await fetch(`${app.httpUrl}/stats`)).json()) as { connections: number };
  t.equal(stats.connections, 0, 'no socket left behind');
});

t.test('bare long-polling handshakes that never join /speech are bounded per address and time out', async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  const handshake = async (): Promise<number> => {
    const response = await fetch(`${app.httpUrl}/socket.io/?EIO=4&transport=polling`);
    await response.arrayBuffer();
    return response.status;
  };
  const statuses: number[] = [];
  for (let i = 0; i < MAX_PENDING_PER_ADDRESS + 20; i++) statuses.push(await handshake());
  t.equal(statuses.filter((s) => s === 200).length, MAX_PENDING_PER_ADDRESS, 'as many as the address may have waiting');
  t.equal(statuses.filter((s) => s === 403).length, 20, 'the rest refused');
  // They join nothing: CONNECT_TIMEOUT_MS closes them, and the address may connect again.
  const client = await within(
    (async () => {
      for (;;) {
        const connected = await SpeechIoClient.connect(app.httpUrl).catch(() => null);
        if (connected) return connected;
        await sleep(200);
      }
    })(),
    'the waiting handshakes to time out, and a /speech client to connect',
    30_000,
  );
  client.close();
  t.pass('a real client connects once they are gone');
});

t.test('a long-polling client sending audio far faster than real time is closed with rate_limited', async (t) => {
  // A process of its own, killed at the end: closing a server while the VAD still works through the 40 s of audio
  // this client got in can abort the process ('Napi::Error' at teardown, another issue's), which is not this test's.
  const server = await ServerProcess.start(0, {});
  t.teardown(() => server.stop('SIGKILL'));
  const client = await SpeechIoClient.connect(server.httpUrl, { transports: ['polling'] });
  t.teardown(() => client.close());
  await client.ack('start-transcription');
  const second = Buffer.from(jfk.slice(0, 16000).buffer);
  // 200 s of audio at once: long-polling cannot be paused, so the audio budget is the only bound.
  for (let i = 0; i < 200; i++) client.socket.emit('audio-chunk', second);
  t.equal(await within(client.closed(), 'the server to disconnect the client', 60_000), 'io server disconnect');
  t.match(
    client.events.find((e) => e.name === 'transcription-error'),
    { payload: { code: 'rate_limited', message: /audio more than 30 s ahead/ } },
  );
});

t.test(
  'SIGTERM while a websocket Socket.IO client stops reading: the server exits by SHUTDOWN_TIMEOUT_MS',
  async (t) => {
    const server = await ServerProcess.start(0, { SHUTDOWN_TIMEOUT_MS: '3000' });
    t.teardown(() => server.stop('SIGKILL'));
    const proxy = await TcpProxy.start(server.port);
    t.teardown(() => proxy.close());
    const client = await SpeechIoClient.connect(`http://127.0.0.1:${proxy.port}`, { transports: ['websocket'] });
    t.teardown(() => client.close());
    await client.ack('start-transcription');
    await client.stream(jfk.subarray(0, 16000 * 2), { chunkMs: 100, speed: 4 });
    // The client stops reading: its finals and the close frame can never be delivered.
    proxy.stall();
    // ws waits 30 s for a closing handshake; the deadline of 3 s is what must end it.
    t.equal(await within(server.stop('SIGTERM'), 'the server to exit', 15_000), 0, 'exited cleanly');
  },
);
