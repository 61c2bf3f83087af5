import t from 'tap';
import { pollUntil } from '../bench/lib/wait.js';
import type { App } from '../server/app.js';
import { speech } from './helpers/engine-fixtures.js';
import { StreamClient } from '../bench/lib/raw-stream-client.js';
import { startTestServer } from './helpers/stream-server.js';

const jfk = speech('jfk.wav');

/** Samples of one scrape by series, e.g. `stt_transcriptions_total{kind="final",end="done"}`. */
type Scrape = Map<string, number>;

async function scrape(app: App): Promise<{ contentType: string; samples: Scrape }> {
  const response = await fetch(`${app.httpUrl}/metrics`);
  const text = await response.text();
  const samples: Scrape = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { contentType: response.headers.get('content-type') ?? '', samples };
}

const value = (samples: Scrape, series: string): number => samples.get(series) ?? Number.NaN;

/** Scrapes until `done` holds; fails with the last scrape after the default wait. */
const scrapeUntil = (app: App, done: (samples: Scrape) => boolean): Promise<Scrape> =>
  pollUntil(async () => (await scrape(app)).samples, done, { intervalMs: 25 });

t.test('/metrics: Prometheus text whose counters move with a real session', async (t) => {
  const app = await startTestServer({ RESUME_TTL_MS: '300' });
  t.teardown(() => app.close());

  const before = await scrape(app);
  t.match(before.contentType, /^text\/plain; version=0\.0\.4/);
  for (const series of [
    'stt_sessions_active{state="attached"}',
    'stt_sessions_created_total',
    'stt_audio_received_seconds_total',
    'stt_queue_depth{kind="final"}',
    'stt_queue_depth{kind="partial"}',
    'stt_transcriptions_running',
    'stt_partial_latency_seconds_count',
    'stt_final_latency_seconds_count',
    'nodejs_eventloop_lag_p99_seconds',
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
  ]) {
    t.ok(before.samples.has(series), `${series} is exported`);
  }
  t.equal(value(before.samples, 'stt_sessions_created_total'), 0);
  t.equal(value(before.samples, 'stt_partial_latency_seconds_count'), 0);

  const client = await StreamClient.connect(app.streamUrl);
  const half = jfk.subarray(0, jfk.length / 2);
  // At real time: at 4x a busy machine ran only the finals of these utterances, no partial, and the wait below then
  // lasted until the idle timeout closed the socket.
  await client.stream(half, { speed: 1, frameMs: 20 });
  await client.waitFor((m) => m['type'] === 'transcript' && m['is_final'] === false);
  const during = await scrape(app);
  t.equal(value(during.samples, 'stt_sessions_active{state="attached"}'), 1, 'one attached session while streaming');
  t.equal(value(during.samples, 'stt_sessions_created_total'), 1);
  t.ok(
    Math.abs(value(during.samples, 'stt_audio_received_seconds_total') - half.length / 16000) < 0.001,
    'audio seconds count what was sent',
  );
  t.ok(value(during.samples, 'stt_transcriptions_total{kind="partial",end="done"}') >= 1, 'partials counted');
  t.ok(
    value(during.samples, 'stt_transcription_duration_seconds_count{kind="partial"}') >= 1,
    'partial durations observed',
  );
  t.ok(value(during.samples, 'stt_queue_wait_seconds_count{kind="partial"}') >= 1, 'queue waits observed');
  t.ok(value(during.samples, 'stt_partial_latency_seconds_count') >= 1, 'partial latency observed');
  t.ok(value(during.samples, 'stt_partial_latency_seconds_sum') > 0);

  await client.stream(jfk.subarray(jfk.length / 2), { speed: 4, frameMs: 20 });
  t.equal((await client.end()).code, 1000);
  const finals = client.messages.filter((m) => m.data['type'] === 'transcript' && m.data['is_final'] === true).length;
  const after = await scrapeUntil(app, (s) => value(s, 'stt_sessions_active{state="attached"}') === 0);
  t.ok(
    Math.abs(value(after, 'stt_audio_received_seconds_total') - jfk.length / 16000) < 0.001,
    'ended sessions keep their audio in the total',
  );
  t.ok(value(after, 'stt_transcriptions_total{kind="final",end="done"}') >= finals, 'finals counted');
  t.equal(value(after, 'stt_final_latency_seconds_count'), finals, 'one final latency per final sent');
  t.ok(value(after, 'stt_final_latency_seconds_sum') > 0);
  t.ok(
    value(after, 'stt_partial_latency_seconds_count') >= value(during.samples, 'stt_partial_latency_seconds_count'),
    'histogram counts never go down',
  );

  // A dropped socket, a resume, another drop, and the resume window running out.
  const dropped = await StreamClient.connect(app.streamUrl);
  const session = await dropped.session();
  dropped.drop();
  await scrapeUntil(app, (s) => value(s, 'stt_sessions_active{state="detached"}') === 1);
  const resumed = await StreamClient.connect(
    `${app.streamUrl}?session_id=${session.session_id}&resume_token=${session.resume_token}`,
  );
  await resumed.waitFor((m) => m['type'] === 'resumed');
  const back = await scrape(app);
  t.equal(value(back.samples, 'stt_sessions_resumed_total'), 1, 'the resume is counted');
  t.equal(value(back.samples, 'stt_sessions_active{state="attached"}'), 1);
  resumed.drop();
  const expired = await scrapeUntil(app, (s) => value(s, 'stt_sessions_expired_total') === 1);
  t.equal(value(expired, 'stt_sessions_active{state="detached"}'), 0, 'the expired session is gone');
  t.equal(value(expired, 'stt_sessions_created_total'), 2);
});

t.test('the naive baseline strategy runs full-context partials, also in silence', async (t) => {
  const app = await startTestServer({ STRATEGY: 'naive' });
  t.teardown(() => app.close());
  const client = await StreamClient.connect(app.streamUrl);
  await client.stream(new Int16Array(16000 * 2), { speed: 4, frameMs: 20 });
  const silence = await scrapeUntil(
    app,
    (s) => value(s, 'stt_transcriptions_running') === 0 && value(s, 'stt_queue_depth{kind="partial"}') === 0,
  );
  t.ok(
    value(silence, 'stt_transcriptions_total{kind="partial",end="done"}') >= 1,
    'silence is transcribed: no VAD gating',
  );
  t.same(client.transcripts(), [], 'but nothing is sent outside an utterance');
  await client.stream(jfk, { speed: 2, frameMs: 20 });
  t.equal((await client.end()).code, 1000);
  const transcripts = client.transcripts();
  t.ok(
    transcripts.some((m) => m['is_final'] === true),
    'finals at the ends of utterances',
  );
  const ready = (await (await fetch(`${app.httpUrl}/readyz`)).json()) as { settings: { strategy: string } };
  t.equal(ready.settings.strategy, 'naive');
});
