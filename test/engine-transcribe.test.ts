import t from 'tap';
import { WhisperModel, native } from '../engine/index.js';
import { QUICK, TINY, TINY_EN, speech } from './helpers/engine-fixtures.js';

const jfk = speech('jfk.wav');

t.test('synthetic tiny.en loads with the official tiny.en shape', async (t) => {
  const model = new WhisperModel(TINY_EN);
  t.teardown(() => model.free());
  t.match(model.info(), {
    type: 'tiny',
    multilingual: false,
    nVocab: 51864,
    nAudioCtx: 1500,
    nAudioState: 384,
    nAudioLayer: 4,
    nTextCtx: 448,
    nTextLayer: 4,
    nMels: 80,
    ftype: 1,
  });
});

t.test('transcribing jfk.wav returns the documented result shape', async (t) => {
  const model = new WhisperModel(TINY_EN);
  t.teardown(() => model.free());
  const result = await model.transcribe(jfk, QUICK);
  t.type(result.text, 'string');
  t.equal(result.language, 'en');
  t.ok(result.segments.length >= 1, 'at least one segment');
  for (const segment of result.segments) {
    t.type(segment.text, 'string');
    t.ok(segment.startMs >= 0 && segment.endMs >= segment.startMs, 'segment times ordered');
    t.ok(segment.noSpeechProb >= 0 && segment.noSpeechProb <= 1, 'no-speech probability in [0, 1]');
    for (const token of segment.tokens) {
      t.ok(Number.isInteger(token.id) && token.id >= 0 && token.id < 50256, 'text token id');
      t.type(token.text, 'string');
      t.ok(token.p >= 0 && token.p <= 1, 'token probability in [0, 1]');
    }
    t.ok(segment.tokens.length <= QUICK.maxTokens, 'maxTokens caps the tokens of a segment');
  }
  t.equal(
    result.text,
    result.segments
      .map((s) => s.text)
      .join('')
      .trimStart(),
    'text is the segments joined',
  );
  t.ok(result.timings.encodeMs > 0, 'encode time measured');
  t.ok(result.timings.decodeMs >= 0, 'decode time measured');
  t.ok(result.timings.totalMs >= result.timings.encodeMs, 'total covers encode');
  t.equal(result.audioCtx, native.autoAudioCtx(jfk.length, 1500), 'automatic audioCtx');
});

t.test('automatic audioCtx covers the audio in multiples of 64, capped at the model', async (t) => {
  t.equal(native.autoAudioCtx(48000, 1500), 192, '3 s needs 150 frames -> 192');
  t.equal(native.autoAudioCtx(16000, 1500), 64, '1 s -> 64');
  t.equal(native.autoAudioCtx(16000 * 30, 1500), 1500, '30 s -> the full 1500');
  t.equal(native.autoAudioCtx(16000 * 60, 1500), 1500, 'never above the model');
  const model = new WhisperModel(TINY_EN);
  t.teardown(() => model.free());
  const three = jfk.subarray(0, 48000);
  t.equal((await model.transcribe(three, QUICK)).audioCtx, 192);
  t.equal((await model.transcribe(three, { ...QUICK, audioCtx: 'full' })).audioCtx, 1500);
  t.equal((await model.transcribe(three, { ...QUICK, audioCtx: 256 })).audioCtx, 256);
  const short = await model.transcribe(jfk.subarray(0, 800), QUICK);
  t.equal(short.audioCtx, 64, 'audio under a second is padded to one second, not dropped');
});

t.test('Float32Array input, beam search, prompt and single segment are accepted', async (t) => {
  const model = new WhisperModel(TINY_EN);
  t.teardown(() => model.free());
  const float = Float32Array.from(jfk.subarray(0, 48000), (s) => s / 32768);
  const fromFloat = await model.transcribe(float, QUICK);
  const fromInt = await model.transcribe(jfk.subarray(0, 48000), QUICK);
  t.equal(fromFloat.text, fromInt.text, 'Float32 and Int16 of the same audio give the same text');
  const beam = await model.transcribe(float, {
    ...QUICK,
    beamSize: 4,
    prompt: 'And so my fellow Americans',
    singleSegment: true,
    noTimestamps: true,
    noSpeechThold: 0.5,
  });
  t.equal(beam.segments.length <= 1, true, 'single segment');
});

t.test('multilingual tiny: forced language comes back, auto-detect returns a language', async (t) => {
  const model = new WhisperModel(TINY);
  t.teardown(() => model.free());
  t.equal(model.info().multilingual, true);
  const codes = new Set(native.languages().map((l) => l.code));
  t.ok(codes.has('te') && codes.has('en'), 'language table');

  const telugu = await model.transcribe(jfk.subarray(0, 48000), { ...QUICK, language: 'te' });
  t.equal(telugu.language, 'te', 'the forced language is what the decoder was given');
  const german = await model.transcribe(jfk.subarray(0, 48000), { ...QUICK, language: 'german' });
  t.equal(german.language, 'de', 'full names are normalised to codes');

  const auto = await model.transcribe(jfk.subarray(0, 48000), { ...QUICK, language: 'auto' });
  t.ok(codes.has(auto.language), `auto-detect picked a known language (${auto.language})`);

  const detection = await model.detectLanguage(jfk.subarray(0, 48000), { top: 3 });
  t.equal(detection.candidates.length, 3);
  t.equal(detection.language, detection.candidates[0]?.language);
  t.ok(codes.has(detection.language));
  const probabilities = detection.candidates.map((c) => c.probability);
  t.same(
    probabilities,
    [...probabilities].sort((a, b) => b - a),
    'candidates sorted by probability',
  );
  t.equal(detection.audioCtx, 192, 'detection runs at the automatic context too');
  t.equal(detection.language, auto.language, 'standalone detection agrees with detection inside transcribe');
});

t.test('English-only model refuses other languages and detection with a clear error', async (t) => {
  const model = new WhisperModel(TINY_EN);
  t.teardown(() => model.free());
  await t.rejects(model.transcribe(jfk, { language: 'te' }), { name: 'RangeError', message: /English-only/ });
  await t.rejects(model.detectLanguage(jfk), { code: 'NOT_MULTILINGUAL' });
  t.equal((await model.transcribe(jfk.subarray(0, 16000), { ...QUICK, language: 'auto' })).language, 'en');
});

t.test('abort stops a running transcription and the instance stays usable', async (t) => {
  const model = new WhisperModel(TINY_EN);
  t.teardown(() => model.free());
  const running = model.transcribe(jfk, { ...QUICK, audioCtx: 'full' });
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(model.abort(), true, 'a call was running');
  await t.rejects(running, { code: 'ABORTED' });
  t.equal(model.abort(), false, 'nothing running now');
  const after = await model.transcribe(jfk.subarray(0, 32000), QUICK);
  t.type(after.text, 'string');
});

t.test('calls on one instance queue instead of colliding', async (t) => {
  const model = new WhisperModel(TINY_EN);
  t.teardown(() => model.free());
  const results = await Promise.all([1, 2, 3].map((s) => model.transcribe(jfk.subarray(0, 16000 * s), QUICK)));
  t.same(
    results.map((r) => r.audioCtx),
    [64, 128, 192],
  );
});

t.test('a transcription does not depend on what the instance transcribed before', async (t) => {
  const model = new WhisperModel(TINY_EN);
  t.teardown(() => model.free());
  const clip = jfk.subarray(16000, 16000 * 3.3);
  const options = { ...QUICK, singleSegment: true, noTimestamps: true };
  const first = await model.transcribe(clip, options);
  await model.transcribe(jfk, options);
  const afterLonger = await model.transcribe(clip, options);
  t.equal(afterLonger.text, first.text, 'same text after a call with a larger audioCtx');
  t.same(
    afterLonger.segments.flatMap((s) => s.tokens.map((x) => x.p)),
    first.segments.flatMap((s) => s.tokens.map((x) => x.p)),
    'same token probabilities',
  );
});
