import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { projectRoot } from '../engine/paths.js';
import { findModelFile } from '../engine/models/catalog.js';
import { float16Bits, float16Value } from '../engine/models/synthetic/f16.js';
import { readTensorValues, readWhisperGgml, type WhisperGgmlFile } from '../engine/models/synthetic/ggml-reader.js';
import { melFilterbank } from '../engine/models/synthetic/mel-filters.js';
import {
  DEFAULT_SEED,
  generateSyntheticModel,
  syntheticModelFileName,
} from '../engine/models/synthetic/synthetic-model.js';
import type { SyntheticModelName } from '../engine/models/synthetic/whisper-layout.js';

const dir = await mkdtemp(join(tmpdir(), 'synthetic-model-test-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface ExpectedTensor {
  ne: number[];
  type: number;
}

/**
 * What whisper.cpp's whisper_model_load creates for a model, written from the
 * loader's side (ggml shapes, 0 = f32, 1 = f16) independently of the
 * generator's PyTorch-ordered list.
 */
function loaderTensors(state: number, layers: number, nVocab: number): Map<string, ExpectedTensor> {
  const m = new Map<string, ExpectedTensor>();
  const f32 = (name: string, ...ne: number[]): void => void m.set(name, { ne, type: 0 });
  const f16 = (name: string, ...ne: number[]): void => void m.set(name, { ne, type: 1 });
  const attention = (p: string): void => {
    f32(`${p}_ln.weight`, state);
    f32(`${p}_ln.bias`, state);
    f16(`${p}.query.weight`, state, state);
    f32(`${p}.query.bias`, state);
    f16(`${p}.key.weight`, state, state);
    f16(`${p}.value.weight`, state, state);
    f32(`${p}.value.bias`, state);
    f16(`${p}.out.weight`, state, state);
    f32(`${p}.out.bias`, state);
  };
  const mlp = (p: string): void => {
    f32(`${p}.mlp_ln.weight`, state);
    f32(`${p}.mlp_ln.bias`, state);
    f16(`${p}.mlp.0.weight`, state, 4 * state);
    f32(`${p}.mlp.0.bias`, 4 * state);
    f16(`${p}.mlp.2.weight`, 4 * state, state);
    f32(`${p}.mlp.2.bias`, state);
  };
  f32('encoder.positional_embedding', state, 1500);
  f16('encoder.conv1.weight', 3, 80, state);
  f32('encoder.conv1.bias', 1, state);
  f16('encoder.conv2.weight', 3, state, state);
  f32('encoder.conv2.bias', 1, state);
  f32('encoder.ln_post.weight', state);
  f32('encoder.ln_post.bias', state);
  for (let i = 0; i < layers; i++) {
    mlp(`encoder.blocks.${i}`);
    attention(`encoder.blocks.${i}.attn`);
  }
  f32('decoder.positional_embedding', state, 448);
  f16('decoder.token_embedding.weight', state, nVocab);
  f32('decoder.ln.weight', state);
  f32('decoder.ln.bias', state);
  for (let i = 0; i < layers; i++) {
    mlp(`decoder.blocks.${i}`);
    attention(`decoder.blocks.${i}.attn`);
    attention(`decoder.blocks.${i}.cross_attn`);
  }
  return m;
}

function stats(values: Float32Array): { mean: number; std: number; maxAbs: number; finite: boolean } {
  let sum = 0;
  let sumSq = 0;
  let maxAbs = 0;
  let finite = true;
  for (const v of values) {
    if (!Number.isFinite(v)) finite = false;
    sum += v;
    sumSq += v * v;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const mean = sum / values.length;
  return { mean, std: Math.sqrt(sumSq / values.length - mean * mean), maxAbs, finite };
}

t.test('f16 conversion rounds to nearest, ties to even', async (t) => {
  t.equal(float16Bits(1), 0x3c00);
  t.equal(float16Bits(-2), 0xc000);
  t.equal(float16Bits(0.1), 0x2e66);
  t.equal(float16Bits(1 / 3), 0x3555);
  t.equal(float16Bits(-0), 0x8000);
  t.equal(float16Bits(65504), 0x7bff, 'largest finite');
  t.equal(float16Bits(65519.99), 0x7bff, 'just under the half-way point to 2^16');
  t.equal(float16Bits(65520), 0x7c00, 'half-way to 2^16 ties to infinity (even)');
  t.equal(float16Bits(2 ** -24), 0x0001, 'smallest subnormal');
  t.equal(float16Bits(2 ** -25), 0x0000, 'half the smallest subnormal ties to zero');
  t.equal(float16Bits(3 * 2 ** -25), 0x0002, '1.5 subnormal units tie to 2');
  t.equal(float16Bits(2 ** -14 - 2 ** -25), 0x0400, 'rounds up into the smallest normal');
  t.equal(float16Bits(1 + 2 ** -11), 0x3c00, 'tie rounds down to even mantissa');
  t.equal(float16Bits(1 + 3 * 2 ** -11), 0x3c02, 'tie rounds up to even mantissa');
  t.equal(float16Bits(1 + 2 ** -11 + 2 ** -30), 0x3c01, 'no double rounding through float32');
  t.equal(float16Bits(NaN) & 0x7c00, 0x7c00);
  t.ok(float16Bits(NaN) & 0x3ff);
  let mismatches = 0;
  for (let bits = 0; bits < 0x10000; bits++) {
    const nan = (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
    if (!nan && float16Bits(float16Value(bits)) !== bits) mismatches++;
  }
  t.equal(mismatches, 0, 'every non-NaN bit pattern round-trips');
});

t.test('mel filterbank matches librosa slaney filters', async (t) => {
  const mel = melFilterbank(16000, 400, 80);
  t.equal(mel.nMels, 80);
  t.equal(mel.nBins, 201);
  t.equal(mel.weights.length, 80 * 201);
  // librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)[0, 1], Whisper's mel_80[0][1]
  t.ok(Math.abs((mel.weights[1] as number) - 0.024862595) < 1e-8, `mel[0][1] = ${mel.weights[1]}`);
  t.equal(mel.weights[0], 0, 'no filter weight at DC');
  for (let m = 0; m < 80; m++) {
    const row = mel.weights.subarray(m * 201, (m + 1) * 201);
    // Slaney normalisation gives every triangle unit area in Hz; bins are 40 Hz apart.
    const area = row.reduce((a, b) => a + b, 0) * 40;
    if (Math.abs(area - 1) > 0.1) t.fail(`filter ${m} area ${area}`);
    if (row.some((v) => v < 0)) t.fail(`filter ${m} has negative weights`);
  }
});

/** The assertions checkModel needs; a tap subtest provides them. */
interface Asserts {
  ok(value: unknown, message: string): unknown;
  equal(found: unknown, wanted: unknown, message: string): unknown;
  same(found: unknown, wanted: unknown, message: string): unknown;
  fail(message: string): unknown;
}

async function checkModel(t: Asserts, name: SyntheticModelName, path: string): Promise<WhisperGgmlFile> {
  const file = await readWhisperGgml(path);
  const official = findModelFile(name);
  if (!official) throw new Error(`${name} is not in the model catalog`);
  const diff = Math.abs(file.fileBytes - official.bytes) / official.bytes;
  t.ok(diff < 0.001, `${name}: ${file.fileBytes} bytes vs official ${official.bytes} (${(diff * 100).toFixed(4)}%)`);
  t.equal(file.magic, 0x67676d6c, 'ggml magic');
  const multilingual = !name.endsWith('.en');
  t.same(
    file.hparams,
    {
      nVocab: multilingual ? 51865 : 51864,
      nAudioCtx: 1500,
      nAudioState: 384,
      nAudioHead: 6,
      nAudioLayer: 4,
      nTextCtx: 448,
      nTextState: 384,
      nTextHead: 6,
      nTextLayer: 4,
      nMels: 80,
      ftype: 1,
    },
    'hyperparameters',
  );
  t.equal(file.mel.nMels, 80, 'mel filter rows');
  t.equal(file.mel.nBins, 201, 'mel filter bins');
  t.same(
    Array.from(file.mel.weights),
    Array.from(melFilterbank(16000, 400, 80).weights),
    'mel filters stored as computed',
  );

  t.equal(file.vocab.length, 50257, 'vocabulary count');
  t.equal(file.vocab[0]?.toString('latin1'), '!', 'first token');
  t.equal(file.vocab[198]?.toString('latin1'), '\n', 'bytes outside the printable range decode back to raw bytes');
  t.equal(file.vocab[220]?.toString('latin1'), ' ', 'space token');
  t.equal(file.vocab[50256]?.toString('latin1'), multilingual ? '' : '<|endoftext|>', 'last stored token');

  const expected = loaderTensors(384, 4, file.hparams.nVocab);
  t.equal(file.tensors.length, expected.size, 'tensor count whisper.cpp expects');
  t.equal(new Set(file.tensors.map((x) => x.name)).size, file.tensors.length, 'no duplicate tensors');
  t.equal(file.tensors[0]?.name, 'decoder.positional_embedding', 'checkpoint order');
  for (const tensor of file.tensors) {
    const want = expected.get(tensor.name);
    if (!want) {
      t.fail(`unexpected tensor ${tensor.name}`);
      continue;
    }
    if (JSON.stringify(tensor.ne) !== JSON.stringify(want.ne) || tensor.type !== want.type) {
      t.fail(
        `${tensor.name}: ne ${JSON.stringify(tensor.ne)} type ${tensor.type}, expected ne ` +
          `${JSON.stringify(want.ne)} type ${want.type}`,
      );
    }
  }
  return file;
}

t.test('tiny.en: official layout, loadable values, deterministic', async (t) => {
  const path = join(dir, syntheticModelFileName('tiny.en'));
  const result = await generateSyntheticModel('tiny.en', path);
  t.equal(result.path, path);
  t.equal(result.bytes, (await stat(path)).size);
  t.same(await readdir(dir), [syntheticModelFileName('tiny.en')], 'no temporary file left behind');
  const file = await checkModel(t, 'tiny.en', path);

  const checked = { layerNorm: 0, bias: 0, matrix: 0 };
  for (const tensor of file.tensors) {
    const values = await readTensorValues(path, tensor);
    const s = stats(values);
    if (!s.finite) t.fail(`${tensor.name} has NaN or Inf`);
    if (/ln(_post)?\.weight$|_ln\.weight$/.test(tensor.name)) {
      checked.layerNorm++;
      if (values.some((v) => v !== 1)) t.fail(`${tensor.name}: LayerNorm weights should be 1`);
    } else if (tensor.name.endsWith('.bias')) {
      checked.bias++;
      if (values.some((v) => v !== 0)) t.fail(`${tensor.name}: biases should be 0`);
    } else if (tensor.type === 1) {
      checked.matrix++;
      if (Math.abs(s.std - 0.02) > 0.001 || Math.abs(s.mean) > 0.002 || s.maxAbs > 0.1) {
        t.fail(`${tensor.name}: mean ${s.mean} std ${s.std} max ${s.maxAbs}`);
      }
    }
  }
  // tiny: 4 encoder blocks (2 LayerNorms, 5 linear biases, 6 matrices), 4 decoder blocks (3, 8, 10), plus the stems.
  t.same(
    checked,
    { layerNorm: 22, bias: 2 + 4 * 5 + 4 * 8 + 22, matrix: 3 + 4 * 6 + 4 * 10 },
    'every tensor category checked',
  );
  const pe = file.tensors.find((x) => x.name === 'encoder.positional_embedding');
  if (!pe) throw new Error('no encoder.positional_embedding tensor');
  const peValues = await readTensorValues(path, pe);
  t.same(
    Array.from(peValues.subarray(0, 384)),
    [...Array(192).fill(0), ...Array(192).fill(1)],
    'sinusoids at position 0: sin 0, cos 0',
  );
  t.ok(Math.abs((peValues[384] as number) - Math.sin(1)) < 1e-6, 'position 1, first channel is sin(1)');
  const decoderPositions = file.tensors[0];
  if (!decoderPositions) throw new Error('the file has no tensors');
  const dpe = stats(await readTensorValues(path, decoderPositions));
  t.ok(Math.abs(dpe.std - 0.01) < 0.001, `decoder positions std ${dpe.std}`);

  const again = join(dir, 'again.bin');
  await generateSyntheticModel('tiny.en', again, DEFAULT_SEED);
  t.equal(await sha256(again), await sha256(path), 'same seed, same bytes');
  const other = join(dir, 'other-seed.bin');
  await generateSyntheticModel('tiny.en', other, DEFAULT_SEED + 1);
  t.equal((await stat(other)).size, result.bytes, 'seed changes values, not layout');
  t.not(await sha256(other), await sha256(path), 'different seed, different bytes');
  await rm(again);
  await rm(other);
});

t.test('tiny: multilingual layout', async (t) => {
  const path = join(dir, syntheticModelFileName('tiny'));
  await generateSyntheticModel('tiny', path);
  await checkModel(t, 'tiny', path);
});

function runCli(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(projectRoot, 'dist/scripts/make-synthetic-model.js'), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

t.test('CLI skips an existing file unless --force', async (t) => {
  const path = join(dir, syntheticModelFileName('tiny'));
  const before = await stat(path);
  const skipped = await runCli(['tiny', '--out', dir]);
  t.equal(skipped.code, 0);
  t.match(skipped.stdout, /skipped/);
  t.equal((await stat(path)).mtimeMs, before.mtimeMs, 'file untouched');

  const forced = await runCli(['tiny', '--out', dir, '--force', '--seed', '7']);
  t.equal(forced.code, 0);
  t.match(forced.stdout, /77,705,470 bytes, seed 7/);
  t.match(forced.stdout, /official ggml-tiny\.bin is 77,691,713 bytes/);
});
