// Redis stopped and started again (empty) under a live session, protocols without resume during the outage, and a
// resume refused during it: the behaviour docs/DEPLOY.md documents, observed.
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
import { TcpProxy } from './helpers/tcp-proxy.js';
import { vadRegions } from './helpers/stream-server.js';

const CHUNK = 1600; // 100 ms
const SPEED = 2;

async function play(
  client: StreamClient,
  audio: Int16Array,
  from: number,
  to: number,
  at: Map<number, () => void> = new Map(),
): Promise<void> {
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
  return within(
    new Promise((resolve) => client.on('final', (m) => m.start_ms >= fromMs && resolve(m))),
    `a final from ${fromMs} ms`,
  );
}

t.test(
  'Redis stops and comes back empty: the live session goes on, new /stream ones are refused meanwhile, and it is ' +
    'resumable elsewhere again after',
  { skip: needs('redis-server') },
  async (t) => {
    const redis = await RedisServer.start();
    // jfk.wav's second and third utterances are 244 ms apart: with a shorter end-of-turn silence than that, the audio
    // sent while Redis is down (to 8.6 s) ends the second one, whose final then comes whatever the load.
    const env = { SESSION_STORE: redis.url, END_SILENCE_MS: '200' };
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
    await a.logged(
      'session store: redis does not answer; live sessions go on in memory, new /stream sessions are refused',
    );
    const ready = await fetch(`${a.httpUrl}/readyz`);
    t.equal(ready.status, 200, '/readyz stays 200: the protocols without resume work on');
    t.match(
      await ready.json(),
      { status: 'ready', sessionStore: 'unavailable' },
      '/readyz says the store is unavailable',
    );
    t.match(
      await (await fetch(`${a.httpUrl}/metrics`)).text(),
      /^stt_session_store_up 0$/m,
      'the metrics show the store down',
    );
    await t.rejects(RawStreamClient.connect(a.streamUrl), /503/, 'a new /stream session is refused with 503');

    const during = finalFrom(client, 5000);
    await play(client, audio, 16000 * 3, 16000 * 8.6);
    t.ok((await during).end_ms > 5000, 'the live session went on: a final of speech sent while Redis was down');

    await redis.restart();
    await a.logged('session store: sessions written again');
    t.match(
      await (await fetch(`${a.httpUrl}/readyz`)).json(),
      { status: 'ready', sessionStore: 'up' },
      '/readyz says the store is up again',
    );
    t.match(
      await (await fetch(`${a.httpUrl}/metrics`)).text(),
      /^stt_session_store_up 1$/m,
      'the metrics show the store up',
    );

    // Mid-utterance again, so the new instance must restore the session from what Redis was given after it came back.
    await play(client, audio, 16000 * 8.6, audio.length, new Map([[16000 * 10.2, () => void a.stop('SIGKILL')]]));
    t.equal((await client.end()).code, 1000, 'the session ended normally');
    t.same(sessions, [false, true], 'the session was never lost: resumed once, after the kill');
    t.same(errors, [], 'the client saw no errors');
    await b.logged('session taken over from another instance');
    checkContinuity(t, messages, await vadRegions(audio), 'across the outage and the kill');
  },
);

t.test(
  'while Redis is down, a protocol without resume starts and finishes sessions as usual',
  { skip: needs('redis-server') },
  async (t) => {
    const redis = await RedisServer.start();
    const a = await ServerProcess.start(0, { SESSION_STORE: redis.url });
    t.teardown(async () => {
      await a.stop('SIGKILL');
      await redis.stop();
    });
    await redis.stop();
    await a.logged(
      'session store: redis does not answer; live sessions go on in memory, new /stream sessions are refused',
    );
    const deepgram = await within(
      RawStreamClient.connect(`ws://127.0.0.1:${a.port}/v1/listen?encoding=linear16&sample_rate=16000`),
      'Deepgram session',
      10_000,
    );
    t.teardown(() => deepgram.ws.terminate());
    await deepgram.stream(speech('jfk.wav'), { speed: 4, frameMs: 100 });
    deepgram.sendJson({ type: 'CloseStream' });
    t.match(
      await within(deepgram.closed, 'close after CloseStream', 60_000),
      { code: 1000 },
      'the session ended normally',
    );
    const results = deepgram.messages.map((m) => m.data).filter((m) => m['type'] === 'Results');
    t.ok(
      results.some((m) => m['is_final'] === true),
      `final Results came (${results.length} Results)`,
    );
    t.same(
      deepgram.messages.map((m) => m.data).filter((m) => m['type'] === 'Error'),
      [],
      'no error',
    );
  },
);

t.test(
  'a resume refused during an outage (resume_failed, then 1013) and retried later replays nothing the client has',
  { skip: needs('redis-server') },
  async (t) => {
    const redis = await RedisServer.start();
    // Pings far apart: the server never learns what the client has, so its log keeps every transcript for a replay.
    const env = { SESSION_STORE: redis.url, PING_INTERVAL_MS: '600000' };
    const a = await ServerProcess.start(0, env);
    const b = await ServerProcess.start(0, env);
    const toA = await TcpProxy.start(a.port);
    t.teardown(async () => {
      await toA.close();
      await Promise.all([a.stop('SIGKILL'), b.stop('SIGKILL')]);
      await redis.stop();
    });
    const audio = speech('jfk.wav');
    // The reconnect after the drop goes to the second URL (b), the one after b's refusal back to a.
    const client = new StreamClient([`ws://127.0.0.1:${toA.port}/stream`, b.streamUrl], { reconnectDelayMs: 50 });
    const delivered: Transcript[] = [];
    client.on('partial', (m) => delivered.push(m));
    client.on('final', (m) => delivered.push(m));
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.code));
    const sessions: boolean[] = [];
    client.on('session', (s) => sessions.push(s.resumed));
    const firstFinal = finalFrom(client, 0);
    await within(client.connect(), 'session on a', 10_000);
    await play(client, audio, 0, 16000 * 3);
    await within(firstFinal, 'first final', 30_000);

    await redis.stop();
    await within(
      a.logged('session store: redis does not answer; live sessions go on in memory, new /stream sessions are refused'),
      'a noticing the outage',
      10_000,
    );
    const resumedOnA = new Promise<void>((resolve) => client.on('session', (s) => s.resumed && resolve()));
    toA.cut();
    await within(resumedOnA, 'resume on a after b refused it', 30_000);
    t.same(
      errors,
      ['resume_failed', 'store_unavailable'],
      'b refused the resume (no store), then a new session (1013)',
    );
    await play(client, audio, 16000 * 3, audio.length);
    t.equal((await within(client.end(), 'end of the session', 60_000)).code, 1000, 'the session ended normally');
    t.same(sessions, [false, true], 'one session throughout, resumed once');
    const seqs = delivered.map((m) => m.seq);
    t.same(seqs, [...new Set(seqs)], 'no transcript was delivered twice');
    t.same(
      seqs,
      [...seqs].sort((x, y) => x - y),
      'transcripts came in seq order',
    );
    checkContinuity(t, delivered, await vadRegions(audio), 'across the refused resume');
  },
);
