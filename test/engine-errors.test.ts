import t from 'tap';
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { VadModel, WhisperModel, fixturesDir, native } from '../engine/index.js';
import { QUICK, SILERO, TINY_EN, speech } from './helpers/engine-fixtures.js';

const jfk = speech('jfk.wav');

function copyPrefix(source: string, target: string, bytes: number): string {
  const data = readFileSync(source);
  writeFileSync(target, data.subarray(0, bytes));
  return target;
}

t.test('bad model files are refused with a coded, specific error', async (t) => {
  const dir = t.testdir({ 'empty.bin': '' });
  const model = readFileSync(TINY_EN);
  const vocabEnd = 77_704_715 - 77_172_736; // somewhere inside the vocabulary section
  const renamed = Buffer.from(model);
  const at = renamed.indexOf('encoder.conv1.weight');
  renamed.write('encoder.convX.weight', at);
  writeFileSync(join(dir, 'renamed.bin'), renamed);
  // Header fields that no tensor shape pins down, at their byte offsets after the magic.
  const patched = (name: string, offset: number, value: number): string => {
    const copy = Buffer.from(model);
    copy.writeInt32LE(value, offset);
    writeFileSync(join(dir, name), copy);
    return join(dir, name);
  };

  const cases: [string, string, RegExp, string][] = [
    ['missing file', join(dir, 'nope.bin'), /not found/, 'MODEL_FILE'],
    ['a directory', dir, /directory/, 'MODEL_FILE'],
    ['an empty file', join(dir, 'empty.bin'), /empty or truncated/, 'MODEL_FILE'],
    ['a WAV file (wrong magic)', join(fixturesDir, 'speech', 'jfk.wav'), /magic 0x46464952/, 'MODEL_FILE'],
    ['a Silero VAD file', SILERO, /truncated or corrupt/, 'MODEL_FILE'],
    [
      'a model cut in the tensor data',
      copyPrefix(TINY_EN, join(dir, 'cut-data.bin'), 40_000_000),
      /file ends inside tensor data/,
      'MODEL_FILE',
    ],
    [
      'a model cut in the vocabulary',
      copyPrefix(TINY_EN, join(dir, 'cut-vocab.bin'), vocabEnd),
      /file ends inside token/,
      'MODEL_FILE',
    ],
    ['a model with an unknown tensor', join(dir, 'renamed.bin'), /unknown tensor 'encoder.convX.weight'/, 'MODEL_LOAD'],
    [
      '7 audio heads for 384 dimensions',
      patched('audio-heads.bin', 16, 7),
      /n_audio_head does not divide n_audio_state/,
      'MODEL_FILE',
    ],
    [
      '5 text heads for 384 dimensions',
      patched('text-heads.bin', 32, 5),
      /n_text_head does not divide n_text_state/,
      'MODEL_FILE',
    ],
    [
      '79 mel filters for 80 mel bands',
      patched('mel-count.bin', 48, 79),
      /mel filter count = 79 is out of range \[80, 80\]/,
      'MODEL_FILE',
    ],
    ['mel filters of the wrong width', patched('mel-width.bin', 52, 200), /mel filter width = 200/, 'MODEL_FILE'],
  ];
  for (const [what, path, message, code] of cases) {
    t.throws(() => new WhisperModel(path), { code, message }, what);
  }
  t.throws(() => new VadModel(TINY_EN), { code: /MODEL_FILE|MODEL_LOAD/ }, 'a Whisper model as the VAD model');
  const cutVad = copyPrefix(SILERO, join(dir, 'cut-vad.bin'), 500_000);
  t.throws(
    () => new VadModel(cutVad),
    { code: 'MODEL_FILE', message: /truncated or corrupt/ },
    'a truncated VAD model',
  );

  const trailing = join(dir, 'trailing.bin');
  writeFileSync(trailing, model);
  const fd = openSync(trailing, 'a');
  writeSync(fd, Buffer.from([1, 2, 3]));
  closeSync(fd);
  t.throws(() => new WhisperModel(trailing), { code: 'MODEL_FILE' }, 'garbage after the last tensor');
});

t.test('wrong argument types and empty audio throw TypeError/RangeError', async (t) => {
  t.throws(() => new native.WhisperModel(42 as unknown as string), TypeError);
  t.throws(() => new native.WhisperModel(TINY_EN, 'gpu' as unknown as object), TypeError);
  t.throws(() => new native.VadModel(undefined as unknown as string), TypeError);
  const model = new WhisperModel(TINY_EN);
  t.teardown(() => model.free());
  const bad: [unknown, unknown, ErrorConstructor, RegExp][] = [
    ['not audio', undefined, TypeError, /Float32Array or Int16Array/],
    [new Uint8Array(100), undefined, TypeError, /Float32Array or Int16Array/],
    [Array.from(jfk.subarray(0, 100)), undefined, TypeError, /Float32Array or Int16Array/],
    [new Int16Array(0), undefined, RangeError, /empty/],
    [jfk, 'fast', TypeError, /options must be an object/],
    [jfk, { language: 'klingon' }, RangeError, /unknown language 'klingon'/],
    [jfk, { language: 5 }, TypeError, /options.language must be a string/],
    [jfk, { beamSize: 2.5 }, RangeError, /options.beamSize must be an integer/],
    [jfk, { beamSize: 9 }, RangeError, /options.beamSize must be an integer from 1 to 8/],
    [jfk, { audioCtx: 0 }, RangeError, /options.audioCtx/],
    [jfk, { audioCtx: 'half' }, RangeError, /options.audioCtx must be 'auto', 'full'/],
    [jfk, { threads: 0 }, RangeError, /options.threads/],
    [jfk, { noSpeechThold: 2 }, RangeError, /options.noSpeechThold/],
    [jfk, { singleSegment: 'yes' }, TypeError, /options.singleSegment must be a boolean/],
  ];
  for (const [audio, options, type, message] of bad) {
    await t.rejects(model.transcribe(audio as Int16Array, options as object), type, `${String(message)}`);
    await t.rejects(model.transcribe(audio as Int16Array, options as object), { message });
  }
  const vad = new VadModel(SILERO);
  t.teardown(() => vad.free());
  t.throws(() => vad.push('pcm' as unknown as Int16Array), TypeError);
  t.throws(() => vad.push(new Float64Array(512) as unknown as Float32Array), TypeError);
  await t.rejects(vad.segments(new Float32Array(0)), RangeError);
  await t.rejects(vad.segments(jfk, { threshold: 3 }), RangeError);
});

t.test('use after free is an error, and free is idempotent', async (t) => {
  const model = new WhisperModel(TINY_EN);
  model.free();
  model.free();
  await t.rejects(model.transcribe(jfk), { code: 'FREED', message: /after free/ });
  t.throws(() => model.info(), { code: 'FREED' });
  t.equal(model.abort(), false);
});

t.test('free during a transcription aborts it without crashing', async (t) => {
  const model = new WhisperModel(TINY_EN);
  const running = model.transcribe(jfk, { ...QUICK, audioCtx: 'full' });
  await new Promise((resolve) => setTimeout(resolve, 20));
  model.free();
  await t.rejects(running, { code: 'ABORTED' });
});

t.test('the process is still healthy after every error above', async (t) => {
  const model = new WhisperModel(TINY_EN);
  t.teardown(() => model.free());
  const result = await model.transcribe(jfk.subarray(0, 32000), QUICK);
  t.type(result.text, 'string');
});
