// Sessions in Redis behind HAProxy: an instance killed mid-utterance, a rolling restart, a resume on another
// instance while the owner lives. Real redis-server, haproxy and server processes (see helpers/cluster.ts).
import t from 'tap';
import { within } from '../bench/lib/wait.js';
import { StreamClient } from '../client/index.js';
import type { VadSegment } from '../engine/index.js';
import { Cluster } from './helpers/cluster.js';
import { checkContinuity } from './helpers/continuity-checks.js';
import { speech } from './helpers/engine-fixtures.js';
import { vadRegions } from './helpers/stream-server.js';
import { collect, play } from './helpers/client-playback.js';
import { needs } from './helpers/system-programs.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

/** The session id the client's first connection announced. */
function sessionOf(client: StreamClient): Promise<string> {
  return within(
    new Promise((resolve) => client.on('session', (s) => resolve(s.sessionId))),
    'the session announcement',
  );
}

t.test(
  'SIGKILL of the instance holding a session mid-utterance: the client resumes through HAProxy on another, ' +
    'nothing lost or repeated',
  { skip: needs('haproxy', 'redis-server') },
  async (t) => {
    const cluster = await Cluster.start(t);
    const audio = speech('jfk.wav');
    const client = new StreamClient(cluster.proxy.streamUrl, { reconnectDelayMs: 50 });
    const messages = collect(client);
    const sessions: boolean[] = [];
    client.on('session', (s) => sessions.push(s.resumed));
    const errors: string[] = [];
    client.on('error', (e) => errors.push(`${e.code}: ${e.message}`));
    const id = sessionOf(client);
    await client.connect();
    const holder = await cluster.holderOf(await id);
    const victim = cluster.instances[holder];
    // Inside jfk.wav's last utterance (8.16 to 10.62 s), after the finals of the ones before and a partial of it.
    await play(client, audio, 2, new Map([[16000 * 10.2, () => void victim?.stop('SIGKILL')]]));
    const closed = await client.end();

    t.equal(closed.code, 1000, 'the session ended normally');
    t.same(sessions, [false, true], 'one session, resumed once');
    t.same(errors, [], 'no errors');
    const taker = await cluster.holderOf(await id, 'session taken over from another instance');
    t.not(taker, holder, 'another instance took the session over');
    checkContinuity(t, messages, await vadRegions(audio), 'after the kill');
  },
);

/** Plays `audio` again and again until `done()` holds after a pass; returns all that was sent. */
async function playUntil(
  client: StreamClient,
  audio: Int16Array,
  speed: number,
  done: () => boolean,
): Promise<Int16Array> {
  let passes = 0;
  do {
    await play(client, audio, speed);
    passes++;
  } while (!done());
  const sent = new Int16Array(audio.length * passes);
  for (let i = 0; i < passes; i++) sent.set(audio, i * audio.length);
  return sent;
}

t.test(
  'a rolling restart of all three instances while four sessions stream: every session goes on, nothing lost or ' +
    'repeated',
  { skip: needs('haproxy', 'redis-server') },
  async (t) => {
    const cluster = await Cluster.start(t);
    const audios = [
      speech('jfk.wav'),
      speech('silero_test_en.wav').subarray(0, 16000 * 12),
      speech('6930-75918-0000.wav'),
      speech('7902-96591-0000.wav'),
    ];
    const clients = audios.map(() => new StreamClient(cluster.proxy.streamUrl, { reconnectDelayMs: 50 }));
    const messages = clients.map(collect);
    const restarts = clients.map(() => 0);
    const errors: string[] = [];
    clients.forEach((client, i) => {
      client.on('reconnecting', () => (restarts[i] = (restarts[i] ?? 0) + 1));
      client.on('error', (e) => errors.push(`${e.code}: ${e.message}`));
    });
    await Promise.all(clients.map((client) => client.connect()));
    let restarted = false;
    const streams = clients.map((client, i) => playUntil(client, audios[i] as Int16Array, 1.5, () => restarted));
    const stopped = [];
    for (let i = 0; i < cluster.instances.length; i++) stopped.push(await cluster.restart(i));
    restarted = true;
    const sent = await Promise.all(streams);
    const closed = await Promise.all(clients.map((client) => client.end()));

    t.same(
      stopped.map((old) => old.exitCode),
      [0, 0, 0],
      'each instance exited cleanly on SIGTERM',
    );
    const handedOff = stopped.reduce((n, old) => n + old.loggedCount('session handed off'), 0);
    t.ok(handedOff >= clients.length, `sessions were handed off at each shutdown (${handedOff} hand-offs)`);
    t.same(
      closed.map((c) => c.code),
      clients.map(() => 1000),
      'every session ended normally',
    );
    t.ok(
      restarts.every((n) => n >= 1),
      `every session moved at least once (${restarts.join(', ')} reconnects)`,
    );
    t.same(errors, [], 'no errors');
    const regions: VadSegment[][] = await Promise.all(sent.map((audio) => vadRegions(audio)));
    messages.forEach((m, i) => {
      checkContinuity(t, m, regions[i] as VadSegment[], `session ${i + 1}`);
    });
  },
);

t.test(
  'a resume that reaches another instance while the owner lives: the owner lets go, the session goes on, nothing ' +
    'repeated',
  { skip: needs('haproxy', 'redis-server') },
  async (t) => {
    const cluster = await Cluster.start(t);
    const [owner, other] = cluster.instances as [(typeof cluster.instances)[0], (typeof cluster.instances)[0]];
    const proxy = await TcpProxy.start(owner.port);
    t.teardown(() => proxy.close());
    const audio = speech('jfk.wav');
    // The first URL reaches the owner through a relay the test can cut; the reconnect goes to the next URL.
    const client = new StreamClient([`ws://127.0.0.1:${proxy.port}/stream`, other.streamUrl], { reconnectDelayMs: 50 });
    const messages = collect(client);
    const sessions: boolean[] = [];
    client.on('session', (s) => sessions.push(s.resumed));
    const id = sessionOf(client);
    await client.connect();
    await play(client, audio, 2, new Map([[16000 * 10.2, () => proxy.cut()]]));
    const closed = await client.end();

    t.equal(closed.code, 1000, 'the session ended normally');
    t.same(sessions, [false, true], 'one session, resumed once');
    const session = await id;
    await owner.logged('session handed off', { session });
    t.pass('the owner, still running, handed the session off when asked');
    await other.logged('session taken over from another instance', { session });
    t.pass('the other instance took it over');
    checkContinuity(t, messages, await vadRegions(audio), 'after the move');
  },
);
