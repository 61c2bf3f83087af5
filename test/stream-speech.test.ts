import t from 'tap';
import { StreamClient } from '../bench/lib/raw-stream-client.js';
import { checkOrdering, checkShapes, checkTimings } from './helpers/stream-checks.js';
import { startTestServer, vadRegions } from './helpers/stream-server.js';
import { speech } from './helpers/engine-fixtures.js';

const END_SILENCE_MS = 400;
// Read at up to 4x after the burst, so the minute of speech below streams at the 4x it is sent at: its pace is not
// what it checks (the 1x runs stay within the burst).
const app = await startTestServer({ END_SILENCE_MS: String(END_SILENCE_MS), MAX_AUDIO_RATE: '4' });
t.teardown(() => app.close());

for (const speed of [1, 4]) {
  for (const name of ['jfk.wav', '6930-75918-0000.wav', '7902-96591-0000.wav']) {
    t.test(`${name} at ${speed}x`, async (t) => {
      const pcm = speech(name);
      const regions = await vadRegions(pcm);
      const client = await StreamClient.connect(app.streamUrl);
      await client.stream(pcm, { speed, frameMs: 20 });
      const closed = await client.end();
      t.equal(closed.code, 1000, 'closed normally after the last final');

      const transcripts = checkShapes(
        t,
        client.messages.map((m) => m.data),
      );
      t.same(client.errors(), [], 'no errors');
      checkOrdering(t, transcripts);
      checkTimings(t, transcripts, {
        regions,
        endSilenceMs: END_SILENCE_MS,
        maxUtteranceMs: 15000,
        audioMs: pcm.length / 16,
      });
      const finals = transcripts.filter((m) => m.is_final);
      t.ok(finals.length >= 1, `speech gives finals (${finals.length} for ${regions.length} VAD regions)`);
      t.ok(finals.length <= regions.length, 'no more utterances than speech regions');
      for (const final of finals) t.ok(final.end_ms <= pcm.length / 16, 'finals end within the audio sent');
    });
  }
}

t.test('a 17 s stretch of speech is cut at the maximum utterance length', async (t) => {
  const pcm = speech('silero_test_en.wav');
  const regions = await vadRegions(pcm);
  const client = await StreamClient.connect(app.streamUrl);
  await client.stream(pcm, { speed: 4, frameMs: 100 });
  await client.end();
  const transcripts = checkShapes(
    t,
    client.messages.map((m) => m.data),
  );
  checkOrdering(t, transcripts);
  checkTimings(t, transcripts, {
    regions,
    endSilenceMs: END_SILENCE_MS,
    maxUtteranceMs: 15000,
    audioMs: pcm.length / 16,
  });
  const finals = transcripts.filter((m) => m.is_final);
  for (const final of finals)
    t.ok(final.end_ms - final.start_ms <= 15000, `segment ${final.segment_id} lasts at most 15 s`);
  const cut = finals.some((f, i) => i > 0 && f.start_ms === (finals[i - 1] as { end_ms: number }).end_ms);
  t.ok(cut, 'one utterance continues exactly where a cut one ended');
});
