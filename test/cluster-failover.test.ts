// Sessions in Redis behind HAProxy: an instance killed mid-utterance, a rolling restart, a resume on another
// instance while the owner lives. Real redis-server, haproxy and server processes (see helpers/cluster.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { StreamClient, type Transcript } from '../client/index.js';
import { Cluster } from './helpers/cluster.js';
import { checkContinuity } from './helpers/continuity-checks.js';
import { speech } from './helpers/engine-fixtures.js';
import { vadRegions } from './helpers/stream-server.js';

const CHUNK = 1600; // 100 ms

/** Feeds `audio` to the client at `speed` x real time; `at` runs once when the given sample offset is reached. */
async function play(client: StreamClient, audio: Int16Array, speed: number, at: Map<number, () => void> = new Map()): Promise<void> {
  for (let offset = 0; offset < audio.length; offset += CHUNK) {
    for (const [sample, action] of at) {
      if (offset >= sample) {
        action();
        at.delete(sample);
      }
    }
    client.send(audio.subarray(offset, offset + CHUNK));
    await sleep(100 / speed);
  }
}

function collect(client: StreamClient): Transcript[] {
  const seen: Transcript[] = [];
  client.on('partial', (m) => seen.push(m));
  client.on('final', (m) => seen.push(m));
  return seen;
}

/** The session id the client's first connection announced. */
function sessionOf(client: StreamClient): Promise<string> {
  return new Promise((resolve) => client.on('session', (s) => resolve(s.sessionId)));
}

t.test('SIGKILL of the instance holding a session mid-utterance: the client resumes through HAProxy on another, nothing lost or repeated', async (t) => {
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
  // Inside jfk.wav's last utterance (8.16 to 10.62 s), after the finals of the ones before.
  await play(client, audio, 2, new Map([[16000 * 9.2, () => void victim?.stop('SIGKILL')]]));
  const closed = await client.end();

  t.equal(closed.code, 1000, 'the session ended normally');
  t.same(sessions, [false, true], 'one session, resumed once');
  t.same(errors, [], 'no errors');
  const taker = await cluster.holderOf(await id, 'session taken over from another instance');
  t.not(taker, holder, 'another instance took the session over');
  checkContinuity(t, messages, await vadRegions(audio), 'after the kill');
});
