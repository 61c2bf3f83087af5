/**
 * Makes the data the test suite needs, skipping what is already there: the synthetic tiny.en and tiny models, and
 * copies of the real Silero VAD model and recorded speech from ../shared (the data folder that sits beside every
 * checkout and CI run). Runs before `npm test`. Tests need this data; the server never reads ../shared.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir, modelsDir, projectRoot } from '../engine/paths.js';
import { generateSyntheticModel, syntheticModelFileName } from './lib/synthetic-model.js';
import type { SyntheticModelName } from './lib/whisper-layout.js';

const shared = join(projectRoot, '..', 'shared');

function copyMissing(from: string, to: string, accept: (name: string) => boolean): void {
  if (!existsSync(from)) {
    console.warn(`prepare-test-data: ${from} not found; tests that need its files will fail`);
    return;
  }
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from).filter(accept)) {
    if (existsSync(join(to, name))) continue;
    copyFileSync(join(from, name), join(to, name));
    console.log(`prepare-test-data: copied ${name} into ${to}`);
  }
}

copyMissing(join(shared, 'models'), modelsDir, (name) => name.endsWith('.bin'));
copyMissing(join(shared, 'speech'), join(fixturesDir, 'shared'), (name) => /\.(wav|txt)$/.test(name));

for (const name of ['tiny.en', 'tiny'] satisfies SyntheticModelName[]) {
  const path = join(modelsDir, syntheticModelFileName(name));
  if (existsSync(path)) continue;
  const { bytes } = await generateSyntheticModel(name, path);
  console.log(`prepare-test-data: generated ${path} (${bytes} bytes, synthetic: same compute as ${name}, nonsense text)`);
}
