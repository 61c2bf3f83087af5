// Finals replay exactly: each equals an offline transcription of exactly the samples it covers, with the same options
// and prompt. The synthetic model's text changes completely when one input sample changes, so a sample lost, doubled
// or shifted anywhere (an utterance's end, a forced cut, a resume) shows. And every region the offline VAD marks as
// speech lies inside the finals.
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { StreamClient, type Transcript } from '../client/index.js';
import { WhisperModel, type VadSegment } from '../engine/index.js';
import { decodeOptions, speechText, toOutcome } from '../engine/pipeline/index.js';
import { loadConfig, type ServerConfig } from '../server/config.js';
import { TINY_EN, speech } from './helpers/engine-fixtures.js';
import { startTestServer, vadRegions } from './helpers/stream-server.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

const CHUNK = 1600;
// Fast senders are paced from 1.5x real time on; these runs go at 4x, so the limit is lifted for them.
const app = await startTestServer({ MAX_AUDIO_RATE: '8' });
t.teardown(() => app.close());
const config = loadConfig([], {}) as ServerConfig;
const model = new WhisperModel(TINY_EN, { wordTimestamps: true });
t.teardown(() => model.free());

/** Plays `audio` into the client at `speed` times real time; `at` runs once when its sample offset is reached. */
async function play(
  client: StreamClient,
  audio: Int16Array,
  speed: number,
  at = new Map<number, () => void>(),
): Promise<void> {
  for (let offset = 0; offset < audio.length; offset += CHUNK) {
    for (const [sample, action] of at) {
      if (offset < sample) continue;
      action();
      at.delete(sample);
    }
    client.send(audio.subarray(offset, offset + CHUNK));
    await sleep(100 / speed);
  }
}

/** What a final says, without its seq (the number of partials before it depends on timing). */
const said = (finals: Transcript[]): { segment: number; text: string; start: number; end: number }[] =>
  finals.map((f) => ({ segment: f.segment_id, text: f.text, start: f.start_ms, end: f.end_ms }));

async function stream(
  url: string,
  audio: Int16Array,
  speed: number,
  at?: Map<number, () => void>,
): Promise<Transcript[]> {
  const client = new StreamClient(url, { reconnectDelayMs: 50 });
  const finals: Transcript[] = [];
  client.on('final', (m) => finals.push(m));
  await client.connect();
  await play(client, audio, speed, at);
  const closed = await client.end();
  if (closed.code !== 1000) throw new Error(`stream closed with ${closed.code} ${closed.reason}`);
  return finals;
}

/** Each final against an offline transcription of exactly its samples, prompted as the server prompts it. */
async function checkReplay(t: Test, audio: Int16Array, finals: Transcript[]): Promise<void> {
  let previous = '';
  for (const final of finals) {
    const pcm = audio.slice(final.start_ms * 16, final.end_ms * 16);
    const settings = {
      strategy: config.strategy,
      threads: config.threadsPerTask,
      finalBeamSize: config.finalBeamSize,
      emulatedTokensPerSecond: 0,
    };
    const options = decodeOptions('final', 'en', pcm.length, previous.slice(-1000), settings);
    const offline = speechText(toOutcome(await model.transcribe(pcm, options)));
    t.equal(
      final.text,
      offline,
      `final ${final.segment_id} (${final.start_ms}-${final.end_ms} ms) equals the offline transcription of its ` +
        'samples',
    );
    if (final.text) previous = final.text;
  }
}

/** Every offline speech region lies inside the finals' spans (consecutive spans joined: a cut splits a region). */
function checkCoverage(t: Test, regions: VadSegment[], finals: Transcript[]): void {
  const spans: [number, number][] = [];
  for (const { start_ms, end_ms } of [...finals].sort((a, b) => a.start_ms - b.start_ms)) {
    const last = spans.at(-1);
    if (last && start_ms <= last[1]) last[1] = Math.max(last[1], end_ms);
    else spans.push([start_ms, end_ms]);
  }
  for (const region of regions) {
    const inside = spans.some(([from, to]) => from <= region.startMs && region.endMs <= to);
    t.ok(
      inside,
      `speech ${Math.round(region.startMs)}-${Math.round(region.endMs)} ms is inside a final ` +
        `(${JSON.stringify(spans)})`,
    );
  }
}

const jfk = speech('jfk.wav');
const long = speech('silero_test_en.wav');

t.test(
  'jfk.wav at real time and at 4x: the same finals, each replaying exactly, covering all the speech',
  async (t) => {
    const realTime = await stream(app.streamUrl, jfk, 1);
    const fast = await stream(app.streamUrl, jfk, 4);
    t.ok(realTime.length >= 2, `${realTime.length} finals`);
    t.same(said(fast), said(realTime), 'pace changes nothing: the same utterances, the same texts');
    await checkReplay(t, jfk, realTime);
    checkCoverage(t, await vadRegions(jfk), realTime);
  },
);

t.test('a drop and resume in the middle of an utterance changes nothing', async (t) => {
  const proxy = await TcpProxy.start(app.port);
  t.teardown(() => proxy.close());
  // jfk.wav speaks from 3.27 to 4.41 s and from 8.16 to 10.62 s: both cuts fall inside speech.
  const resumed = await stream(
    app.streamUrl.replace(/:\d+\//, `:${proxy.port}/`),
    jfk,
    4,
    new Map([
      [16000 * 3.8, () => proxy.cut()],
      [16000 * 9, () => proxy.cut()],
    ]),
  );
  t.equal(proxy.connections, 3, 'two drops, two resumes');
  t.same(said(resumed), said(await stream(app.streamUrl, jfk, 4)), 'the same finals as without the drops');
  await checkReplay(t, jfk, resumed);
  checkCoverage(t, await vadRegions(jfk), resumed);
});

t.test(
  'a minute of speech with a 17 s utterance, cut at the maximum length: every final replays, all speech covered',
  async (t) => {
    const finals = await stream(app.streamUrl, long, 4);
    const cut = finals.some((f, i) => i > 0 && f.start_ms === (finals[i - 1] as Transcript).end_ms);
    t.ok(cut, 'the 17 s utterance was cut, and the next segment starts exactly where it was cut');
    await checkReplay(t, long, finals);
    checkCoverage(t, await vadRegions(long), finals);
  },
);
