import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MODEL_FILES, resolveVadModelPath } from '../engine/model-path.js';
import { modelsDir } from '../engine/paths.js';
import { ModelFetchError, fetchModel } from '../scripts/lib/download-model.js';
import { generateSyntheticModel, syntheticModelFileName } from '../scripts/lib/synthetic-model.js';
import { ConfigError, type ServerConfig } from './config.js';
import type { Logger } from './log.js';

/**
 * Makes the embedded default servable when the configuration names no model: with no Whisper model in models/ it
 * generates the synthetic tiny.en stand-in; with no Silero VAD model it downloads the official one (verified).
 * Paths the configuration names are left alone; loading them reports what is wrong.
 */
export async function prepareDefaultModels(config: ServerConfig, log: Logger): Promise<void> {
  // A server that forwards finals runs without a local model rather than on the stand-in (see startApp).
  if (!config.modelPath && !config.forwardUrl && !DEFAULT_MODEL_FILES.some((file) => existsSync(join(modelsDir, file)))) {
    const path = join(modelsDir, syntheticModelFileName('tiny.en'));
    log.info('no Whisper model in models/: generating the synthetic stand-in', { path });
    await generateSyntheticModel('tiny.en', path);
  }
  const vadPath = resolveVadModelPath(config.vadModelPath);
  if (!config.vadModelPath && !existsSync(vadPath)) {
    log.info('no Silero VAD model in models/: downloading it', { path: vadPath });
    try {
      await fetchModel('silero-v6.2.0', { log: (line) => log.info(line) });
    } catch (error) {
      if (!(error instanceof ModelFetchError)) throw error;
      throw new ConfigError(`the Silero VAD model is required and could not be downloaded. ${error.message}`);
    }
  }
}
