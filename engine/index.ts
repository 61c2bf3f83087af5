export { WhisperModel } from './whisper-model.js';
export { EngineError, engineErrorCode, ENGINE_ERROR_CODES } from './errors.js';
export { VadModel } from './vad.js';
export { segmentsFromProbs, DEFAULT_VAD_PARAMS } from './vad-segments.js';
export {
  resolveModelPath,
  resolveVadModelPath,
  isMultilingualModel,
  checkVadModelFile,
  DEFAULT_MODEL_FILES,
  DEFAULT_VAD_FILE,
  BUNDLED_VAD_MODEL,
  type ResolvedModel,
} from './models/model-path.js';
export {
  parseWav,
  readWavHeader,
  readWav,
  readWav16kMono,
  encodeWav,
  WavFormatError,
  type WavAudio,
  type WavHeader,
} from './audio/wav.js';
export { Resampler, TARGET_RATE } from './audio/resampler.js';
export { native, addonPath } from './native.js';
export { projectRoot, modelsDir, fixturesDir } from './paths.js';
export { commandLine, installedAsDependency, type CommandName } from './commands.js';
export type * from './types.js';
