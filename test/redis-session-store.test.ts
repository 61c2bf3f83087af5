// The Redis session store against a real redis-server: atomic checkpoints with the log, ownership that fences out an
// instance that did not let go, a full rewrite after Redis lost everything, and a Redis that hangs.
import t from 'tap';
import type { SessionCheckpoint, TranscriptEvent } from '../engine/pipeline/index.js';
import { createLogger } from '../server/log.js';
import { RedisSessionStore } from '../server/sessions/redis-session-store.js';
import { MAX_MOVES_PER_MINUTE } from '../server/sessions/shared-session-store.js';
import { RedisServer } from './helpers/redis-server.js';
import { needs } from './helpers/system-programs.js';

const log = createLogger('error', (line) => process.stderr.write(line));
const record = { id: 's1', principal: 'alice', resumeTokenHash: 'ab'.repeat(32), createdAt: 1, detachedAt: null };
const checkpoint = (audioSample: number): SessionCheckpoint => ({
  audioSample,
  nextSegmentId: 1,
  turnId: 1,
  turnSent: false,
  previousFinal: 'Hello.',
  requestedLanguage: 'en',
  detectedLanguage: null,
  hint: '',
  endSilenceMs: 400,
});
const transcript = (seq: number): TranscriptEvent => ({
  text: `t${seq}`,
  isFinal: true,
  endOfSpeech: true,
  language: 'en',
  segmentId: seq,
  turnId: seq,
  seq,
  startMs: 0,
  endMs: 10,
  words: [],
});

t.test(
  'a checkpoint and the transcripts before it are stored together; another instance takes the session and fences ' +
    'out the first',
  { skip: needs('redis-server') },
  async (t) => {
    const redis = await RedisServer.start();
    const a = await RedisSessionStore.connect({ url: redis.url, resumeTtlMs: 30_000, log });
    const b = await RedisSessionStore.connect({ url: redis.url, resumeTtlMs: 30_000, log });
    t.teardown(async () => {
      await Promise.all([a.close(), b.close()]);
      await redis.stop();
    });

    await a.create(record);
    await a.append('s1', transcript(0));
    await a.append('s1', transcript(1));
    t.equal(await a.persist('s1', checkpoint(16000)), 'stored');
    t.match(await b.peek('s1'), {
      record: { principal: 'alice' },
      checkpoint: { audioSample: 16000, previousFinal: 'Hello.' },
      nextSeq: 2,
      log: [{ seq: 0 }, { seq: 1 }],
    });
    await a.prune('s1', 0);
    await a.append('s1', transcript(2));
    t.equal(await a.persist('s1', checkpoint(32000)), 'stored');
    t.match(
      await b.peek('s1'),
      { nextSeq: 3, log: [{ seq: 1 }, { seq: 2 }] },
      'the confirmed transcript is gone from the stored log too',
    );

    // `a` never answers the release request (it registered no handler): `b` claims once a's lease would have run out
    // were it dead, and a's writes are refused from then on.
    const taken = await b.takeOver('s1');
    t.match(taken, { ok: true, stored: { checkpoint: { audioSample: 32000 }, nextSeq: 3 } });
    t.equal(await a.persist('s1', checkpoint(48000)), 'lost', 'the instance that did not let go can no longer write');
    t.same(
      (await b.replay('s1', -1)).map((e) => e.seq),
      [1, 2],
      'the new owner serves the log it restored',
    );
    t.match(await b.takeOver('s1'), { ok: true, stored: { nextSeq: 3 } }, 'taking over a session it owns is harmless');
    await b.delete('s1');
    t.equal(await a.peek('s1'), undefined, 'deleted by its owner');
  },
);

t.test(
  'a session moves between instances at most MAX_MOVES_PER_MINUTE times a minute; a refused move leaves its ' +
    'owner alone',
  { skip: needs('redis-server') },
  async (t) => {
    const redis = await RedisServer.start();
    const stores = [
      await RedisSessionStore.connect({ url: redis.url, resumeTtlMs: 30_000, log }),
      await RedisSessionStore.connect({ url: redis.url, resumeTtlMs: 30_000, log }),
    ] as const;
    t.teardown(async () => {
      await Promise.all(stores.map((store) => store.close()));
      await redis.stop();
    });
    // Each lets go at once when asked, as a live instance does.
    const released = [0, 0];
    stores.forEach((store, i) => {
      store.onReleaseRequest(async (id) => {
        released[i] = (released[i] ?? 0) + 1;
        await store.release(id, checkpoint(16000));
      });
    });
    await stores[0].create(record);
    t.equal(await stores[0].persist('s1', checkpoint(16000)), 'stored');
    for (let move = 1; move <= MAX_MOVES_PER_MINUTE; move++) {
      t.match(await (stores[move % 2] as RedisSessionStore).takeOver('s1'), { ok: true }, `move ${move} is allowed`);
    }
    const owner = MAX_MOVES_PER_MINUTE % 2;
    const asked = [...released];
    t.match(
      await (stores[1 - owner] as RedisSessionStore).takeOver('s1'),
      { ok: false, reason: new RegExp(`moved between instances ${MAX_MOVES_PER_MINUTE} times within a minute`) },
      'one move more within the minute is refused',
    );
    t.same(released, asked, 'the owner was not asked to let go');
    t.equal(
      await (stores[owner] as RedisSessionStore).persist('s1', checkpoint(32000)),
      'stored',
      'the owner still holds the session and writes it',
    );
  },
);

t.test(
  'after Redis restarts empty, the next write stores the whole session again',
  { skip: needs('redis-server') },
  async (t) => {
    const redis = await RedisServer.start();
    const a = await RedisSessionStore.connect({ url: redis.url, resumeTtlMs: 30_000, log });
    t.teardown(async () => {
      await a.close();
      await redis.stop();
    });
    let changes = 0;
    let back: () => void = () => undefined;
    const answering = new Promise<void>((resolve) => (back = resolve));
    a.onAvailability(() => {
      changes++;
      if (a.unavailable === null) back();
    });
    await a.create(record);
    await a.append('s1', transcript(0));
    t.equal(await a.persist('s1', checkpoint(16000)), 'stored');
    await redis.stop();
    await a.append('s1', transcript(1));
    t.equal(await a.persist('s1', checkpoint(32000)), 'unavailable', 'a write while Redis is down fails at once');
    t.match(a.unavailable, /does not answer/);
    await redis.restart();
    await answering;
    t.ok(changes >= 2, 'told when Redis went and when it came back');
    t.equal(await a.persist('s1', checkpoint(32000)), 'stored');
    t.match(await a.peek('s1'), {
      record: { principal: 'alice' },
      checkpoint: { audioSample: 32000 },
      nextSeq: 2,
      log: [{ seq: 0 }, { seq: 1 }],
    });
  },
);

t.test(
  'a Redis that hangs: a write gives up after its timeout, later ones fail at once until Redis answers again',
  { skip: needs('redis-server') },
  async (t) => {
    const redis = await RedisServer.start();
    const a = await RedisSessionStore.connect({ url: redis.url, resumeTtlMs: 30_000, log });
    t.teardown(async () => {
      await redis.stop();
      await a.close();
    });
    const states: (string | null)[] = [];
    let back: () => void = () => undefined;
    const answering = new Promise<void>((resolve) => (back = resolve));
    a.onAvailability(() => {
      states.push(a.unavailable);
      if (a.unavailable === null) back();
    });
    await a.create(record);
    t.equal(await a.persist('s1', checkpoint(16000)), 'stored');
    redis.freeze();
    t.equal(await a.persist('s1', checkpoint(32000)), 'unavailable', 'the write timed out');
    t.match(a.unavailable, /does not answer/, 'the store says it is unavailable while the connection is still up');
    t.equal(await a.persist('s1', checkpoint(32000)), 'unavailable', 'the next write does not wait for Redis');
    redis.thaw();
    await answering;
    t.match(states, [/does not answer/, null], 'told when it stalled and when it answered again');
    t.equal(await a.persist('s1', checkpoint(48000)), 'stored');
    t.match(await a.peek('s1'), { checkpoint: { audioSample: 48000 } });
  },
);
