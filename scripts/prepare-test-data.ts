/**
 * Makes the synthetic tiny.en and tiny models the test suite runs on, skipping those already there. Runs before
 * `npm test`; everything else the tests need (the Silero VAD model, recorded speech) is in the repository.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { modelsDir } from '../engine/paths.js';
import { generateSyntheticModel, syntheticModelFileName } from '../engine/models/synthetic/synthetic-model.js';
import type { SyntheticModelName } from '../engine/models/synthetic/whisper-layout.js';

for (const name of ['tiny.en', 'tiny'] satisfies SyntheticModelName[]) {
  const path = join(modelsDir, syntheticModelFileName(name));
  if (existsSync(path)) continue;
  const { bytes } = await generateSyntheticModel(name, path);
  console.log(
    `prepare-test-data: generated ${path} (${bytes} bytes, synthetic: same compute as ${name}, nonsense text)`,
  );
}
