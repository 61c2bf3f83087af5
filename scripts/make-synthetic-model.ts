/**
 * Generates shape-faithful synthetic Whisper models (see
 * lib/synthetic-model.ts). They cost the same compute as the real models
 * and produce nonsense text: for behaviour tests and benchmarks only.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { commandLine } from '../engine/commands.js';
import { modelsDir } from '../engine/paths.js';
import { findModelFile } from '../engine/models/catalog.js';
import {
  DEFAULT_SEED,
  generateSyntheticModel,
  syntheticModelFileName,
} from '../engine/models/synthetic/synthetic-model.js';
import {
  SYNTHETIC_MODEL_NAMES,
  isSyntheticModelName,
  type SyntheticModelName,
} from '../engine/models/synthetic/whisper-layout.js';

const DEFAULT_NAMES: SyntheticModelName[] = ['tiny.en', 'tiny'];

const HELP = `Usage: ${commandLine('modelsSynthetic', '[names...] [--out DIR] [--seed N] [--force]')}

Writes synthetic Whisper models in whisper.cpp's ggml format: the official
hyperparameters, mel filters, vocabulary and tensor shapes, filled with
seeded random weights. A synthetic model costs the same compute as the real
one but transcribes everything into nonsense text. Use it for behaviour tests
and benchmarks only, never to transcribe.

  names     ${SYNTHETIC_MODEL_NAMES.join(', ')} (default: ${DEFAULT_NAMES.join(' ')})
  --out     output folder (default: models/ in the project)
  --seed    unsigned 32-bit seed (default ${DEFAULT_SEED}); the same seed gives the same file
  --force   overwrite files that already exist (otherwise they are skipped)

Files are named ggml-<name>-synthetic.bin.
`;

async function main(): Promise<number> {
  const config = {
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      seed: { type: 'string' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  } as const;
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const unknown = positionals.filter((n) => !isSyntheticModelName(n));
  if (unknown.length > 0) {
    process.stderr.write(`Unknown model name: ${unknown.join(', ')}. Known: ${SYNTHETIC_MODEL_NAMES.join(', ')}.\n`);
    return 2;
  }
  const seed = values.seed === undefined ? DEFAULT_SEED : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    process.stderr.write(`--seed must be an integer from 0 to 4294967295, got ${values.seed}\n`);
    return 2;
  }
  const names = positionals.length > 0 ? (positionals as SyntheticModelName[]) : DEFAULT_NAMES;
  const outDir = values.out === undefined ? modelsDir : resolve(values.out);

  for (const name of names) {
    const outPath = join(outDir, syntheticModelFileName(name));
    const shown = displayPath(outPath);
    if (existsSync(outPath) && !values.force) {
      process.stdout.write(`${shown}: exists, skipped (use --force to regenerate)\n`);
      continue;
    }
    const started = performance.now();
    const { bytes } = await generateSyntheticModel(name, outPath, seed);
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `${shown}: ${bytes.toLocaleString('en-US')} bytes, seed ${seed}, ` +
        `${seconds.toFixed(1)} s${officialComparison(name, bytes)}\n`,
    );
  }
  return 0;
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

function officialComparison(name: SyntheticModelName, bytes: number): string {
  const official = findModelFile(name);
  if (!official) return '';
  const diff = bytes - official.bytes;
  const percent = ((diff / official.bytes) * 100).toFixed(4);
  return (
    `; official ggml-${name}.bin is ${official.bytes.toLocaleString('en-US')} bytes ` +
    `(${diff >= 0 ? '+' : ''}${diff.toLocaleString('en-US')}, ${diff >= 0 ? '+' : ''}${percent}%)`
  );
}

process.exitCode = await main();
