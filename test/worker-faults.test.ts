/**
 * Faults are events, not hangs: the speech-detection thread or a transcription worker dies mid-utterance (killed
 * through the test-only hook in workers/fault-injection.ts) while two sessions stream, and both carry on to their
 * finals without an error; a session opened while the thread restarts ends normally too.
 */
import t, { type Test } from 'tap';
import { StreamClient } from '../bench/lib/raw-stream-client.js';
import { crashThreads } from '../workers/fault-injection.js';
import { within } from '../bench/lib/wait.js';
import { speech } from './helpers/engine-fixtures.js';
import { checkOrdering, checkShapes, checkTimings } from './helpers/stream-checks.js';
import { startTestServer, vadRegions } from './helpers/stream-server.js';

const END_SILENCE_MS = 400;
/** Generous for a busy 2-core machine: the clips are 11-15 s long, played at real time. */
const STREAM_END_MS = 60_000;
const app = await startTestServer({ END_SILENCE_MS: String(END_SILENCE_MS), POOL_SIZE: '2', THREADS_PER_TASK: '1' });
t.teardown(() => app.close());

interface Streamer {
  name: string;
  client: StreamClient;
  pcm: Int16Array;
  playing: Promise<void>;
}

async function startStreaming(name: string): Promise<Streamer> {
  const pcm = speech(name);
  const client = await within(StreamClient.connect(app.streamUrl), `connection for ${name}`, 10_000);
  t.teardown(() => client.ws.terminate());
  return { name, client, pcm, playing: client.stream(pcm, { speed: 1, frameMs: 20 }) };
}

/** Everything streamed, the end sent: the session closes normally with well-formed, well-timed finals and no error. */
async function finishesCleanly(t: Test, streamer: Streamer, label: string): Promise<void> {
  await streamer.playing;
  const closed = await within(streamer.client.end(), `close of the ${label} session after its end`, STREAM_END_MS);
  t.equal(closed.code, 1000, `the ${label} session closed normally after its last final`);
  t.same(streamer.client.errors(), [], `the ${label} session got no error`);
  const transcripts = checkShapes(
    t,
    streamer.client.messages.map((m) => m.data),
  );
  checkOrdering(t, transcripts);
  const regions = await vadRegions(streamer.pcm);
  checkTimings(t, transcripts, {
    regions,
    endSilenceMs: END_SILENCE_MS,
    maxUtteranceMs: 15_000,
    audioMs: streamer.pcm.length / 16,
  });
  const finals = transcripts.filter((m) => m.is_final);
  const lastSpeech = regions.at(-1)?.endMs ?? 0;
  t.ok(
    finals.some((f) => f.end_ms >= lastSpeech - 1000),
    `the ${label} session's finals reach its last speech (${lastSpeech} ms): ` +
      `${finals.map((f) => `${f.start_ms}-${f.end_ms}`).join(', ')}`,
  );
}

const firstPartial = (client: StreamClient): Promise<unknown> =>
  within(
    client.waitFor((m) => m['type'] === 'transcript' && m['is_final'] === false),
    'first partial of the victim',
    30_000,
  );

t.test('the speech-detection thread dies mid-utterance: every session carries on', async (t) => {
  const victim = await startStreaming('jfk.wav');
  const bystander = await startStreaming('6930-75918-0000.wav');
  await firstPartial(victim.client);
  t.equal(
    await within(crashThreads('vad'), 'exit of the speech-detection thread', 10_000),
    1,
    'the server has one detection service',
  );
  // Opened while the fresh thread starts: its requests must reach that thread, not the dead one.
  const newcomer = await startStreaming('7902-96591-0000.wav');
  // A flush right after the crash needs detection of the audio before it: it must answer.
  victim.client.sendJson({ type: 'flush' });
  await finishesCleanly(t, victim, 'victim');
  await finishesCleanly(t, bystander, 'bystander');
  await finishesCleanly(t, newcomer, 'newcomer');
});

t.test('a transcription worker dies mid-transcription: every session carries on', async (t) => {
  const victim = await startStreaming('jfk.wav');
  const bystander = await startStreaming('6930-75918-0000.wav');
  await firstPartial(victim.client);
  t.equal(
    await within(crashThreads('transcriber'), 'exit of the transcription workers', 30_000),
    1,
    'the server has one pool',
  );
  await finishesCleanly(t, victim, 'victim');
  await finishesCleanly(t, bystander, 'bystander');
});
