import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MODEL_FILES } from '../engine/models/model-path.js';
import { generateSyntheticModel, syntheticModelFileName } from '../engine/models/synthetic/synthetic-model.js';
import { modelsDir } from '../engine/paths.js';
import type { ServerConfig } from './config.js';
import type { Logger } from './log.js';

/**
 * Makes the embedded default servable offline when the configuration names no model: with no Whisper model in
 * models/ it generates the synthetic tiny.en stand-in (the Silero VAD model ships with the package). Paths the
 * configuration names are left alone; loading them reports what is wrong.
 */
export async function prepareDefaultModels(config: ServerConfig, log: Logger): Promise<void> {
  // A server that forwards finals runs without a local model rather than on the stand-in (see startApp).
  if (config.modelPath || config.forwardUrl || DEFAULT_MODEL_FILES.some((file) => existsSync(join(modelsDir, file))))
    return;
  const path = join(modelsDir, syntheticModelFileName('tiny.en'));
  log.info('no Whisper model in models/: generating the synthetic stand-in', { path });
  await generateSyntheticModel('tiny.en', path);
}
