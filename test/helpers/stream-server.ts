import { VadModel, type VadSegment } from '../../engine/index.js';
import { startApp, type App } from '../../server/app.js';
import { loadConfig, type ServerConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { SILERO, TINY_EN } from './engine-fixtures.js';

/** A real server on an ephemeral port with the synthetic model; `overrides` as environment variables would set them. */
export async function startTestServer(
  overrides: Record<string, string> = {},
  log: (line: string) => void = (line) => process.stderr.write(line),
): Promise<App> {
  const config = loadConfig([], {
    PORT: '0',
    HOST: '127.0.0.1',
    WHISPER_MODEL: TINY_EN,
    VAD_MODEL: SILERO,
    LOG_LEVEL: 'error',
    ...overrides,
  }) as ServerConfig;
  return startApp(config, createLogger(config.logLevel, log));
}

/** Speech regions of whole-file Silero VAD with whisper.cpp's defaults: the reference for segment timings. */
export async function vadRegions(pcm: Int16Array): Promise<VadSegment[]> {
  const vad = new VadModel(SILERO);
  try {
    return await vad.segments(pcm);
  } finally {
    vad.free();
  }
}
