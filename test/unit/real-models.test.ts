// Which model files the accuracy bench counts as real weights (bench/lib/real-models.ts).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { findRealModels, isRealModelFile } from '../../bench/lib/real-models.js';

t.test('official ggml names are real; synthetic stand-ins, Silero and other files are not', async (t) => {
  for (const name of [
    'ggml-tiny.en.bin',
    'ggml-tiny.bin',
    'ggml-base.en.bin',
    'ggml-base.bin',
    'ggml-tiny.en-q8_0.bin',
    'ggml-large-v3-turbo.bin',
  ]) {
    t.ok(isRealModelFile(name), name);
  }
  for (const name of [
    'ggml-tiny.en-synthetic.bin',
    'ggml-tiny-synthetic.bin',
    'ggml-silero-v6.2.0.bin',
    'ggml-tiny.en.bin.part',
    'tiny.en.bin',
    'README.md',
  ]) {
    t.notOk(isRealModelFile(name), name);
  }
});

t.test('findRealModels lists the real files of a folder by name, and nothing for a missing folder', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'models-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of ['ggml-tiny.bin', 'ggml-base.en.bin', 'ggml-tiny.en-synthetic.bin', 'ggml-silero-v6.2.0.bin'])
    writeFileSync(join(dir, name), '');
  mkdirSync(join(dir, 'ggml-folder.bin'));
  t.same(findRealModels(dir), [join(dir, 'ggml-base.en.bin'), join(dir, 'ggml-tiny.bin')]);
  t.same(findRealModels(join(dir, 'missing')), []);
});
