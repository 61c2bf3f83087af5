/**
 * Runs before `npm start`: makes sure the embedded default can serve. With no Whisper model in models/ (nor
 * WHISPER_MODEL set) it generates the synthetic tiny.en stand-in; with no Silero VAD model it downloads the official
 * one (verified), failing with the manual alternative when offline.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MODEL_FILES, resolveVadModelPath } from '../engine/model-path.js';
import { modelsDir } from '../engine/paths.js';
import { ModelFetchError, fetchModel } from './lib/download-model.js';
import { generateSyntheticModel, syntheticModelFileName } from './lib/synthetic-model.js';

const haveWhisper = Boolean(process.env['WHISPER_MODEL']) || DEFAULT_MODEL_FILES.some((f) => existsSync(join(modelsDir, f)));
if (!haveWhisper) {
  const path = join(modelsDir, syntheticModelFileName('tiny.en'));
  await generateSyntheticModel('tiny.en', path);
  console.log(`prepare-default-models: no Whisper model in ${modelsDir}; generated the synthetic stand-in ${path}`);
}

if (!process.env['VAD_MODEL'] && !existsSync(resolveVadModelPath())) {
  try {
    await fetchModel('silero-v6.2.0', { log: (line) => console.log(`prepare-default-models: ${line}`) });
  } catch (error) {
    if (!(error instanceof ModelFetchError)) throw error;
    console.error(`prepare-default-models: the Silero VAD model is required and could not be downloaded.\n${error.message}`);
    process.exitCode = 1;
  }
}
