import t from 'tap';
import { VadModel, segmentsFromProbs } from '../engine/index.js';
import { SILERO, speech } from './helpers/engine-fixtures.js';

const jfk = speech('jfk.wav');
// NOTICE / docs: Silero v6.2.0 with whisper.cpp's default parameters on jfk.wav.
const JFK_SEGMENTS_MS = [
  [320, 2270],
  [3270, 4410],
  [5380, 7680],
  [8160, 10620],
];

function streamInPieces(vad: VadModel, audio: Int16Array, sizes: number[]): Float32Array {
  const probs: number[] = [];
  let offset = 0;
  for (let i = 0; offset < audio.length; i++) {
    const size = sizes[i % sizes.length] as number;
    probs.push(...vad.push(audio.subarray(offset, offset + size)));
    offset += size;
  }
  probs.push(...vad.flush());
  return Float32Array.from(probs);
}

t.test('whole-buffer VAD finds the four jfk.wav speech segments', async (t) => {
  const vad = new VadModel(SILERO);
  t.teardown(() => vad.free());
  const segments = await vad.segments(jfk);
  t.equal(segments.length, 4);
  segments.forEach((segment, i) => {
    const [start, end] = JFK_SEGMENTS_MS[i] as [number, number];
    t.ok(Math.abs(segment.startMs - start) <= 100, `segment ${i} starts near ${start} ms (${segment.startMs})`);
    t.ok(Math.abs(segment.endMs - end) <= 100, `segment ${i} ends near ${end} ms (${segment.endMs})`);
  });
});

t.test('streaming probabilities in arbitrary pieces equal the whole-buffer pass', async (t) => {
  const vad = new VadModel(SILERO);
  t.teardown(() => vad.free());
  const whole = await vad.detect(jfk);
  t.equal(whole.length, Math.ceil(jfk.length / vad.windowSize));

  const fresh = new VadModel(SILERO);
  t.same(Array.from(streamInPieces(fresh, jfk, [700])), Array.from(whole), 'a new instance starts from a clean state');
  fresh.free();

  for (const sizes of [[160], [512], [1000, 37, 4096], [16000], [jfk.length]]) {
    vad.reset();
    const streamed = streamInPieces(vad, jfk, sizes);
    t.same(Array.from(streamed), Array.from(whole), `pieces of ${sizes.join('/')} samples`);
  }
  const expected = await vad.segments(jfk);
  t.same(segmentsFromProbs(whole), expected, 'segmentsFromProbs reproduces whisper.cpp on the same probabilities');
  vad.reset();
  t.same(
    segmentsFromProbs(streamInPieces(vad, jfk, [333, 2048])),
    expected,
    'streamed probabilities give the same segments',
  );
});

t.test('segment parameters are honoured, including the maximum speech length', async (t) => {
  const vad = new VadModel(SILERO);
  t.teardown(() => vad.free());
  const long = speech('silero_test_en.wav');
  const probs = await vad.detect(long);
  for (const params of [
    { minSilenceDurationMs: 300 },
    { maxSpeechDurationS: 8, minSilenceDurationMs: 300 },
    { threshold: 0.7, speechPadMs: 100 },
  ]) {
    const native = await vad.segments(long, params);
    t.same(segmentsFromProbs(probs, params), native, `same segments for ${JSON.stringify(params)}`);
  }
  const capped = await vad.segments(long, { maxSpeechDurationS: 8, minSilenceDurationMs: 300 });
  const free = await vad.segments(long, { minSilenceDurationMs: 300 });
  t.equal(free.length, 12, 'the twelve segments of silero_test_en.wav (min silence 300 ms)');
  // whisper.cpp merges pieces closer than 200 ms after cutting, so only cuts at a real pause survive.
  t.ok(capped.length > free.length, 'a maximum speech length cuts at least one long segment at a pause');
});

t.test('streaming VAD keeps working after reset and refuses use after free', async (t) => {
  const vad = new VadModel(SILERO);
  t.equal(vad.push(new Int16Array(100)).length, 0, 'less than a window yields nothing yet');
  t.equal(vad.push(new Int16Array(500)).length, 1, 'the window completes on the next piece');
  t.equal(vad.push(new Int16Array(0)).length, 0, 'an empty piece is a no-op');
  vad.reset();
  t.equal(vad.flush().length, 0, 'reset drops leftovers');
  vad.free();
  t.throws(() => vad.push(new Int16Array(512)), { code: 'FREED' });
  await t.rejects(vad.segments(jfk), { code: 'FREED' }, 'a rejection, not a throw');
});
