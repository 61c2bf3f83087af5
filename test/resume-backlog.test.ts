// A client that resends its unacknowledged backlog at once after a resume, in the 10 ms and 20 ms frames it
// captured, is never refused: on the same instance, and on another one behind HAProxy with Redis. The network fails one
// way for 5 s of audio first (the client goes on sending, the server hears nothing), so the backlog is at least that.
import t from 'tap';
import { StreamClient, type Transcript } from '../client/index.js';
import { collect, play } from './helpers/client-playback.js';
import { Cluster } from './helpers/cluster.js';
import { checkContinuity } from './helpers/continuity-checks.js';
import { speech } from './helpers/engine-fixtures.js';
import { startTestServer, vadRegions } from './helpers/stream-server.js';
import { needs } from './helpers/system-programs.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { within } from '../bench/lib/wait.js';

const jfk = speech('jfk.wav');
/** 1.5 × real time: MAX_AUDIO_RATE, and under the old 200 messages a second in 10 ms frames. */
const SPEED = 1.5;
/**
 * Inside jfk.wav's second utterance (8.16 to 10.62 s); the network fails one way from 5 s (after the first's final).
 */
const HOLD_AT = 16000 * 5;
const CUT_AT = 16000 * 10.2;
const RUN_MS = 120_000;

const noCluster = needs('haproxy', 'redis-server');

const finals = (messages: Transcript[]): { text: string; start_ms: number; end_ms: number }[] =>
  messages.filter((m) => m.is_final).map(({ text, start_ms, end_ms }) => ({ text, start_ms, end_ms }));

interface Run {
  messages: Transcript[];
  sessions: boolean[];
  errors: string[];
  closeCode: number;
}

/** Streams jfk.wav through `url`; `at` acts on the network at sample offsets. */
async function run(url: string, frameMs: number, at: Map<number, () => void> = new Map()): Promise<Run> {
  const client = new StreamClient(url, { frameMs, reconnectDelayMs: 50 });
  const messages = collect(client);
  const sessions: boolean[] = [];
  client.on('session', (s) => sessions.push(s.resumed));
  const errors: string[] = [];
  client.on('error', (e) => errors.push(`${e.code}: ${e.message}`));
  await within(client.connect(), 'the session to start', 30_000);
  await play(client, jfk, SPEED, at);
  const closed = await within(client.end(), 'the session to end', RUN_MS);
  return { messages, sessions, errors, closeCode: closed.code };
}

t.test(
  'same instance: a 5 s backlog resent at once in 10 ms and 20 ms frames is taken whole; finals as without the drop',
  async (t) => {
    // Greedy finals on one worker are exactly repeatable: the resumed run's finals equal the uninterrupted run's.
    const app = await startTestServer({ FINAL_BEAM_SIZE: '1', POOL_SIZE: '1' });
    t.teardown(() => app.close());
    const regions = await vadRegions(jfk);
    for (const frameMs of [10, 20]) {
      const reference = await run(app.streamUrl, frameMs);
      t.equal(reference.closeCode, 1000, `${frameMs} ms: the uninterrupted run ends normally`);
      const proxy = await TcpProxy.start(app.port);
      t.teardown(() => proxy.close());
      const resumed = await run(
        app.streamUrl.replace(/:\d+\//, `:${proxy.port}/`),
        frameMs,
        new Map([
          [HOLD_AT, () => proxy.holdRequests()],
          [CUT_AT, () => proxy.cut()],
        ]),
      );
      t.equal(resumed.closeCode, 1000, `${frameMs} ms: the session ended normally`);
      t.same(resumed.sessions, [false, true], `${frameMs} ms: one session, resumed once`);
      t.same(resumed.errors, [], `${frameMs} ms: nothing refused`);
      t.same(
        finals(resumed.messages),
        finals(reference.messages),
        `${frameMs} ms: the same finals as without the drop`,
      );
      checkContinuity(t, resumed.messages, regions, `${frameMs} ms frames`);
    }
  },
);

t.test(
  'another instance behind HAProxy with Redis: the holder is killed after 5 s of audio it never got; the backlog ' +
    'is taken whole',
  { skip: noCluster },
  async (t) => {
    const cluster = await Cluster.start(t);
    const proxy = await TcpProxy.start(cluster.proxy.port);
    t.teardown(() => proxy.close());
    const url = cluster.proxy.streamUrl.replace(/:\d+\//, `:${proxy.port}/`);
    const regions = await vadRegions(jfk);
    for (const frameMs of [10, 20]) {
      const client = new StreamClient(url, { frameMs, reconnectDelayMs: 50 });
      const messages = collect(client);
      const sessions: boolean[] = [];
      client.on('session', (s) => sessions.push(s.resumed));
      const errors: string[] = [];
      client.on('error', (e) => errors.push(`${e.code}: ${e.message}`));
      const id = new Promise<string>((resolve) => client.on('session', (s) => resolve(s.sessionId)));
      await within(client.connect(), 'the session to start', 30_000);
      const holder =
        cluster.instances[await within(cluster.holderOf(await id), 'the instance holding the session', 10_000)];
      const killAndCut = (): void => {
        void holder?.stop('SIGKILL');
        proxy.cut();
      };
      await play(
        client,
        jfk,
        SPEED,
        new Map([
          [HOLD_AT, () => proxy.holdRequests()],
          [CUT_AT, killAndCut],
        ]),
      );
      const closed = await within(client.end(), 'the session to end', RUN_MS);
      t.equal(closed.code, 1000, `${frameMs} ms: the session ended normally`);
      t.same(sessions, [false, true], `${frameMs} ms: one session, resumed once`);
      t.same(errors, [], `${frameMs} ms: nothing refused`);
      const taker = await within(
        cluster.holderOf(await id, 'session taken over from another instance'),
        'the instance that took the session over',
        10_000,
      );
      t.not(cluster.instances[taker], holder, `${frameMs} ms: another instance took the session over`);
      checkContinuity(t, messages, regions, `${frameMs} ms frames, after the kill`);
    }
  },
);
