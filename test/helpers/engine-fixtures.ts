import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir, modelsDir, readWav16kMono } from '../../engine/index.js';

export const TINY_EN = join(modelsDir, 'ggml-tiny.en-synthetic.bin');
export const TINY = join(modelsDir, 'ggml-tiny-synthetic.bin');
export const SILERO = join(modelsDir, 'ggml-silero-v6.2.0.bin');

/** Real speech copied from ../shared/speech by .ci/run (or by hand: see README). */
export function speech(name: string): Int16Array {
  const path = join(fixturesDir, 'shared', name);
  if (!existsSync(path)) throw new Error(`missing fixture ${path}: run .ci/run or copy ../shared/speech/${name} there`);
  return readWav16kMono(path);
}

/** Greedy, bounded settings: the synthetic model's text is random, so an unbounded decode just burns CPU. */
export const QUICK = { threads: 2, maxTokens: 24, temperatureFallback: false } as const;
