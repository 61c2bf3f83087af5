import { join } from 'node:path';
import { BUNDLED_VAD_MODEL, fixturesDir, modelsDir, readWav16kMono } from '../../engine/index.js';

export const TINY_EN = join(modelsDir, 'ggml-tiny.en-synthetic.bin');
export const TINY = join(modelsDir, 'ggml-tiny-synthetic.bin');
export const SILERO = BUNDLED_VAD_MODEL;

/** Real recorded speech from fixtures/speech (sources and licences in NOTICE). */
export function speech(name: string): Int16Array {
  return readWav16kMono(join(fixturesDir, 'speech', name));
}

/** Greedy, bounded settings: the synthetic model's text is random, so an unbounded decode just burns CPU. */
export const QUICK = { threads: 2, maxTokens: 24, temperatureFallback: false } as const;
