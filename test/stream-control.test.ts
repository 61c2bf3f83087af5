import t from 'tap';
import { StreamClient } from '../bench/lib/raw-stream-client.js';
import { checkOrdering, checkShapes, checkTimings } from './helpers/stream-checks.js';
import { startTestServer, vadRegions } from './helpers/stream-server.js';
import { speech } from './helpers/engine-fixtures.js';

const app = await startTestServer();
t.teardown(() => app.close());
const jfk = speech('jfk.wav');
const short = speech('7902-96591-0000.wav');

const bytes = (pcm: Int16Array): Uint8Array => new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);

t.test('end in the middle of speech still sends that speech as a final before closing with 1000', async (t) => {
  const client = await StreamClient.connect(app.streamUrl);
  // jfk.wav speaks from 0.32 s to 2.27 s: stop at 1.5 s, mid-word.
  await client.stream(jfk.subarray(0, 24000), { speed: 1, frameMs: 20 });
  client.sendJson({ type: 'end' });
  client.sendBytes(bytes(jfk.subarray(24000, 24320)));
  const closed = await client.closed;
  t.equal(closed.code, 1000, 'normal closure');
  const transcripts = checkShapes(
    t,
    client.messages.map((m) => m.data),
  );
  checkOrdering(t, transcripts);
  const finals = transcripts.filter((m) => m.is_final);
  t.equal(finals.length, 1, 'one final');
  t.equal(finals[0]?.end_ms, 1500, 'it covers the speech up to the end of the audio');
  t.ok(
    transcripts.some((m) => !m.is_final),
    'partials came before it',
  );
  t.match(client.errors(), [{ code: 'session_ended' }], 'audio after end is refused with an error');
});

t.test('flush finalizes the current utterance and the session carries on', async (t) => {
  const client = await StreamClient.connect(app.streamUrl);
  await client.stream(jfk.subarray(0, 24000), { speed: 2, frameMs: 20 });
  client.sendJson({ type: 'flush' });
  const first = await client.waitFor((m) => m['is_final'] === true);
  t.equal(first['end_ms'], 1500, 'the flushed final ends where the audio did');
  await client.stream(jfk.subarray(24000), { speed: 4, frameMs: 20 });
  t.equal((await client.end()).code, 1000);
  const transcripts = checkShapes(
    t,
    client.messages.map((m) => m.data),
  );
  checkOrdering(t, transcripts);
  t.ok(transcripts.filter((m) => m.is_final).length >= 2, 'later speech gets finals of its own');
  t.same(client.errors(), []);
});

t.test('silence and low noise give no transcripts at all', async (t) => {
  const noise = new Int16Array(16000 * 4);
  let seed = 1;
  for (let i = 16000 * 2; i < noise.length; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    noise[i] = ((seed >> 16) % 61) - 30;
  }
  const client = await StreamClient.connect(app.streamUrl);
  await client.stream(noise, { speed: 4, frameMs: 20 });
  client.sendJson({ type: 'flush' });
  t.equal((await client.end()).code, 1000);
  t.same(client.content(), [], 'no transcripts, no errors');
});

t.test('bad input gets errors; the session keeps working and another session is unaffected', async (t) => {
  const other = await StreamClient.connect(app.streamUrl);
  const otherDone = other.stream(short, { speed: 2, frameMs: 20 });
  const client = await StreamClient.connect(app.streamUrl);

  client.sendBytes(bytes(short.subarray(0, 1600)));
  client.sendJson({ language: 'en' });
  client.sendBytes(new Uint8Array(3));
  client.sendBytes(new Uint8Array(32002));
  client.sendText('not json');
  client.sendJson({ type: 'reset' });
  client.sendJson([1, 2]);
  client.sendJson({ language: 5 });
  client.sendJson({ hello: 'world' });
  const expected = [
    'odd_frame_length',
    'frame_too_large',
    'bad_json',
    'unknown_type',
    'bad_message',
    'bad_message',
    'bad_message',
  ];
  await client.waitFor(() => client.errors().length === expected.length);
  t.same(
    client.errors().map((e) => e['code']),
    expected,
    'one error per bad message, with stable codes',
  );
  await client.stream(short.subarray(1600), { speed: 2, frameMs: 20 });
  t.equal((await client.end()).code, 1000, 'still usable after the errors');
  const mine = checkShapes(
    t,
    client.messages.map((m) => m.data),
  );
  checkOrdering(t, mine);
  t.ok(
    mine.some((m) => m.is_final),
    'audio sent before and after the bad input was transcribed',
  );
  const regions = await vadRegions(short);
  checkTimings(t, mine, { regions, endSilenceMs: 400, maxUtteranceMs: 15000, audioMs: short.length / 16 });

  await otherDone;
  t.equal((await other.end()).code, 1000);
  t.same(other.errors(), [], 'the other session saw no errors');
  const theirs = checkShapes(
    t,
    other.messages.map((m) => m.data),
  );
  checkOrdering(t, theirs);
  t.ok(
    theirs.some((m) => m.is_final),
    'the other session got its final',
  );
  checkTimings(t, theirs, { regions, endSilenceMs: 400, maxUtteranceMs: 15000, audioMs: short.length / 16 });
});

t.test('an empty binary frame is accepted and does nothing', async (t) => {
  const client = await StreamClient.connect(app.streamUrl);
  client.sendBytes(new Uint8Array(0));
  t.equal((await client.end()).code, 1000);
  t.same(client.content(), []);
});
