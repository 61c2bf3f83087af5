import t from 'tap';
import { StreamClient } from '../bench/lib/raw-stream-client.js';
import { checkOrdering, checkShapes, checkTimings } from './helpers/stream-checks.js';
import { startTestServer, vadRegions } from './helpers/stream-server.js';
import { TINY, speech } from './helpers/engine-fixtures.js';

// A worker per session, so the load never refuses one of them on a busy machine: this test is about isolation.
const app = await startTestServer({ WHISPER_MODEL: TINY, POOL_SIZE: '4' });
t.teardown(() => app.close());

// Different audio (so segment timings tell sessions apart) and a different language per session.
const SESSIONS = [
  { file: 'jfk.wav', language: 'en' },
  { file: '6930-75918-0000.wav', language: 'te' },
  { file: '7902-96591-0000.wav', language: 'de' },
  { file: 'silero_test_en.wav', language: 'fr', seconds: 8 },
];

for (const count of [2, 4]) {
  t.test(`${count} concurrent sessions each get only their own transcripts`, async (t) => {
    const sessions = await Promise.all(
      SESSIONS.slice(0, count).map(async (s) => {
        const full = speech(s.file);
        const pcm = s.seconds ? full.subarray(0, s.seconds * 16000) : full;
        return { ...s, pcm, regions: await vadRegions(pcm), client: await StreamClient.connect(app.streamUrl) };
      }),
    );
    await Promise.all(
      sessions.map(async (s) => {
        s.client.sendJson({ language: s.language });
        await s.client.stream(s.pcm, { speed: 2, frameMs: 20 });
        t.equal((await s.client.end()).code, 1000, `${s.file} closed normally`);
      }),
    );
    for (const s of sessions) {
      const transcripts = checkShapes(
        t,
        s.client.messages.map((m) => m.data),
      );
      t.same(s.client.errors(), [], `${s.file}: no errors`);
      checkOrdering(t, transcripts);
      checkTimings(t, transcripts, {
        regions: s.regions,
        endSilenceMs: 400,
        maxUtteranceMs: 15000,
        audioMs: s.pcm.length / 16,
      });
      t.ok(
        transcripts.some((m) => m.is_final),
        `${s.file}: finals`,
      );
      for (const m of transcripts) t.equal(m.language, s.language, `${s.file}: its own language`);
    }
  });
}
