// A resume token stolen by another principal, tried on every instance of a cluster sharing sessions in Redis.
import { createHash } from 'node:crypto';
import t from 'tap';
import { StreamClient as RawStreamClient } from '../bench/lib/raw-stream-client.js';
import { Cluster } from './helpers/cluster.js';
import { checkContinuity } from './helpers/continuity-checks.js';
import { speech } from './helpers/engine-fixtures.js';
import { checkShapes } from './helpers/stream-checks.js';
import { needs } from './helpers/system-programs.js';
import { vadRegions } from './helpers/stream-server.js';

const OWNER_KEY = 'owner-api-key-0123456789abcdef';
const THIEF_KEY = 'thief-api-key-0123456789abcdef';
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

t.test(
  'a resume token stolen by another principal is refused on every instance; the session goes on undisturbed',
  { skip: needs('haproxy', 'redis-server') },
  async (t) => {
    const cluster = await Cluster.start(t, { API_KEY_HASHES: [OWNER_KEY, THIEF_KEY].map(sha256).join(',') });
    const audio = speech('jfk.wav');
    const owner = await RawStreamClient.connect(cluster.proxy.streamUrl, {}, ['bearer', OWNER_KEY]);
    const { session_id: id, resume_token: token } = await owner.session();
    const holder = await cluster.holderOf(id);
    await owner.stream(audio.subarray(0, 16000 * 5), { speed: 2, frameMs: 100 });
    await owner.waitFor((m) => m['type'] === 'transcript' && m['is_final'] === true);

    for (const [i, instance] of cluster.instances.entries()) {
      const query = new URLSearchParams({ session_id: id, resume_token: token, last_seq: '-1' });
      const thief = await RawStreamClient.connect(`${instance.streamUrl}?${query}`, {}, ['bearer', THIEF_KEY]);
      const refusal = await thief.waitFor((m) => m['type'] === 'error');
      t.match(
        refusal,
        { code: 'resume_failed', message: /belongs to another principal/ },
        `instance ${i + 1}${i === holder ? ' (the owner)' : ''} refuses the resume`,
      );
      const fresh = await thief.session();
      t.not(fresh.session_id, id, `instance ${i + 1} gives the thief a new session of its own, not the stolen one`);
      t.equal((await thief.end()).code, 1000);
    }

    await owner.stream(audio.subarray(16000 * 5), { speed: 2, frameMs: 100 });
    t.equal((await owner.end()).code, 1000, 'the owner’s session ended normally');
    t.same(owner.errors(), [], 'the owner saw no errors');
    t.equal(
      cluster.instances.reduce(
        (n, instance) =>
          n +
          instance.loggedCount('session handed off') +
          instance.loggedCount('session taken over from another instance'),
        0,
      ),
      0,
      'the session never moved',
    );
    checkContinuity(
      t,
      checkShapes(
        t,
        owner.messages.map((m) => m.data),
      ),
      await vadRegions(audio),
      'the owner',
    );
  },
);
