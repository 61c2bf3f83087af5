import t from 'tap';
import { speech } from './helpers/engine-fixtures.js';
import { checkOrdering, type Transcript } from './helpers/stream-checks.js';
import { StreamClient } from '../bench/lib/raw-stream-client.js';
import { startTestServer } from './helpers/stream-server.js';

const app = await startTestServer();
t.teardown(() => app.close());
const speechUrl = app.streamUrl.replace(/\/stream$/, '/speech');
const jfk = speech('jfk.wav');
const bytes = (pcm: Int16Array): Uint8Array => new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);

const TRANSCRIPT_DATA_KEYS = [
  'end_ms',
  'end_of_speech',
  'is_final',
  'language',
  'segment_id',
  'seq',
  'start_ms',
  'text',
];

t.test('start, audio, stop: started, partials and finals in order, stopped', async (t) => {
  const client = await StreamClient.connect(speechUrl);
  client.sendJson({ type: 'start', language: 'en' });
  const started = await client.waitFor((m) => m['event'] === 'started');
  t.type(started['session_id'], 'string');
  // Stops mid-utterance (jfk.wav speaks from 5.2 s to 7.7 s), so stop has speech left to finalize.
  // Real time, so partials come however busy the machine is.
  await client.stream(jfk.subarray(0, 16000 * 6.5), { speed: 1, frameMs: 20 });
  client.sendJson({ type: 'stop' });
  await client.waitFor((m) => m['event'] === 'stopped');

  const events = client.messages.map((m) => m.data);
  t.equal(events[0]?.['event'], 'started', 'started comes first');
  t.same(events.at(-1), { event: 'stopped', session_id: started['session_id'] }, 'stopped comes last');
  const transcripts = events.slice(1, -1);
  for (const event of transcripts) {
    t.same(Object.keys(event).sort(), ['data', 'event']);
    t.same(Object.keys(event['data'] as object).sort(), TRANSCRIPT_DATA_KEYS, 'data shape');
    const data = event['data'] as Transcript;
    t.equal(event['event'], data.is_final ? 'transcription-final' : 'transcription-partial', 'event names the kind');
  }
  const data = transcripts.map((e) => ({ ...(e['data'] as Transcript), type: 'transcript' as const }));
  checkOrdering(t, data);
  t.ok(
    data.some((m) => !m.is_final),
    'partials',
  );
  t.ok(data.filter((m) => m.is_final).length >= 2, 'finals, the last one made by stop');
  t.equal(data.at(-1)?.end_ms, 6500, 'the last final runs to the end of the audio');

  client.sendJson({ type: 'start' });
  t.match(
    await client.waitFor((m) => m['event'] === 'started' && m['session_id'] !== started['session_id']),
    { event: 'started' },
    'a new session may start',
  );
  client.ws.close(1000);
  await client.closed;
});

t.test('audio before start, and other mistakes, get error events and the socket stays usable', async (t) => {
  const client = await StreamClient.connect(speechUrl);
  client.sendBytes(bytes(jfk.subarray(0, 320)));
  client.sendJson({ type: 'stop' });
  client.sendText('{');
  client.sendJson({ type: 'start', language: 'xx' });
  client.sendJson({ type: 'start' });
  client.sendJson({ type: 'start' });
  await client.waitFor((m) => m['event'] === 'started');
  await client.waitFor((m) => (m['data'] as { code?: string } | undefined)?.code === 'already_started');
  const errors = client.messages.map((m) => m.data).filter((m) => m['event'] === 'transcription-error');
  t.same(
    errors.map((e) => (e['data'] as { code: string }).code),
    ['not_started', 'not_started', 'bad_json', 'unknown_language', 'already_started'],
  );
  for (const error of errors) t.same(Object.keys(error['data'] as object).sort(), ['code', 'message']);
  client.ws.close(1000);
  await client.closed;
  const stats = (await (await fetch(`${app.httpUrl}/stats`)).json()) as { sessions: { active: number } };
  t.ok(stats.sessions.active <= 1, 'the refused start left no session behind');
});

t.test('an idle /speech session is finalized, stopped, then closed with 4002', async (t) => {
  const idleApp = await startTestServer({ IDLE_TIMEOUT_MS: '500' });
  t.teardown(() => idleApp.close());
  const client = await StreamClient.connect(idleApp.streamUrl.replace(/\/stream$/, '/speech'));
  client.sendJson({ type: 'start' });
  await client.waitFor((m) => m['event'] === 'started');
  // jfk.wav speaks from 0.15 s to 2.3 s: the audio stops mid-utterance.
  await client.stream(jfk.subarray(0, 16000 * 1.5), { speed: 4, frameMs: 20 });
  t.equal((await client.closed).code, 4002);
  const events = client.messages.map((m) => m.data['event']);
  t.equal(events.at(-1), 'stopped', 'stopped before the close');
  t.equal(events.at(-2), 'transcription-final', 'after the final of the unfinished utterance');
});

t.test('a /speech socket that starts no session is closed with 4002 after the idle timeout', async (t) => {
  const idleApp = await startTestServer({ IDLE_TIMEOUT_MS: '300' });
  t.teardown(() => idleApp.close());
  const speechUrl = idleApp.streamUrl.replace(/\/stream$/, '/speech');
  const never = await StreamClient.connect(speechUrl);
  t.equal((await never.closed).code, 4002, 'never started');
  t.same(never.messages, [], 'nothing was sent to it');

  const after = await StreamClient.connect(speechUrl);
  after.sendJson({ type: 'start' });
  await after.waitFor((m) => m['event'] === 'started');
  after.sendJson({ type: 'stop' });
  await after.waitFor((m) => m['event'] === 'stopped');
  t.equal((await after.closed).code, 4002, 'idle after its session stopped');
});
