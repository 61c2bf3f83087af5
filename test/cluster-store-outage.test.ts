// Redis stopped and started again (empty) under a live session: the behaviour docs/DEPLOY.md documents, observed.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { within } from '../bench/lib/wait.js';
import { StreamClient as RawStreamClient } from '../bench/lib/raw-stream-client.js';
import { StreamClient, type Transcript } from '../client/index.js';
import { checkContinuity } from './helpers/continuity-checks.js';
import { speech } from './helpers/engine-fixtures.js';
import { RedisServer } from './helpers/redis-server.js';
import { ServerProcess } from './helpers/server-process.js';
import { needs } from './helpers/system-programs.js';
import { vadRegions } from './helpers/stream-server.js';

const CHUNK = 1600; // 100 ms
const SPEED = 2;

async function play(client: StreamClient, audio: Int16Array, from: number, to: number, at: Map<number, () => void> = new Map()): Promise<void> {
  for (let offset = from; offset < to; offset += CHUNK) {
    for (const [sample, action] of at) {
      if (offset >= sample) {
        action();
        at.delete(sample);
      }
    }
    client.send(audio.subarray(offset, Math.min(to, offset + CHUNK)));
    await sleep(100 / SPEED);
  }
}

/** Resolves with the first final the client gets that starts at or after `fromMs`. */
function finalFrom(client: StreamClient, fromMs: number): Promise<Transcript> {
  return within(new Promise((resolve) => client.on('final', (m) => m.start_ms >= fromMs && resolve(m))), `a final from ${fromMs} ms`);
}

t.test('Redis stops and comes back empty: the live session goes on, new ones are refused meanwhile, and it is resumable elsewhere again after', { skip: needs('redis-server') }, async (t) => {
  const redis = await RedisServer.start();
  const env = { SESSION_STORE: redis.url };
  const a = await ServerProcess.start(0, env);
  const b = await ServerProcess.start(0, env);
  t.teardown(async () => {
    await Promise.all([a.stop('SIGKILL'), b.stop('SIGKILL')]);
    await redis.stop();
  });
  const audio = speech('jfk.wav');
  // Reconnects go to the next URL: the second instance.
  const client = new StreamClient([a.streamUrl, b.streamUrl], { reconnectDelayMs: 50 });
  const messages: Transcript[] = [];
  client.on('partial', (m) => messages.push(m));
  client.on('final', (m) => messages.push(m));
  const sessions: boolean[] = [];
  client.on('session', (s) => sessions.push(s.resumed));
  const errors: string[] = [];
  client.on('error', (e) => errors.push(`${e.code}: ${e.message}`));
  const firstFinal = finalFrom(client, 0);
  await client.connect();
  await play(client, audio, 0, 16000 * 3);
  await firstFinal;

  await redis.stop();
  await a.logged('session store: redis does not answer; live sessions go on in memory, new ones are refused');
  const ready = await fetch(`${a.httpUrl}/readyz`);
  t.equal(ready.status, 503, '/readyz answers 503 (load balancers send new sessions elsewhere)');
  t.match(await ready.json(), { status: 'degraded', reason: /session store/ }, '/readyz says why');
  t.match(await (await fetch(`${a.httpUrl}/metrics`)).text(), /^stt_session_store_up 0$/m, 'the metrics show the store down');
  await t.rejects(RawStreamClient.connect(a.streamUrl), /503/, 'a new session is refused with 503');

  const during = finalFrom(client, 5000);
  await play(client, audio, 16000 * 3, 16000 * 8.6);
  t.ok((await during).end_ms > 5000, 'the live session went on: a final of speech sent while Redis was down');

  await redis.restart();
  await a.logged('session store: sessions written again');
  t.equal((await fetch(`${a.httpUrl}/readyz`)).status, 200, '/readyz is 200 again');
  t.match(await (await fetch(`${a.httpUrl}/metrics`)).text(), /^stt_session_store_up 1$/m, 'the metrics show the store up');

  // Mid-utterance again, so the new instance must restore the session from what Redis was given after it came back.
  await play(client, audio, 16000 * 8.6, audio.length, new Map([[16000 * 10.2, () => void a.stop('SIGKILL')]]));
  t.equal((await client.end()).code, 1000, 'the session ended normally');
  t.same(sessions, [false, true], 'the session was never lost: resumed once, after the kill');
  t.same(errors, [], 'the client saw no errors');
  await b.logged('session taken over from another instance');
  checkContinuity(t, messages, await vadRegions(audio), 'across the outage and the kill');
});
