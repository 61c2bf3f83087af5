export { WhisperModel } from './whisper-model.js';
export { VadModel } from './vad.js';
export { segmentsFromProbs, DEFAULT_VAD_PARAMS } from './vad-segments.js';
export { resolveModelPath, resolveVadModelPath, DEFAULT_MODEL_FILES, DEFAULT_VAD_FILE, type ResolvedModel } from './model-path.js';
export { parseWav, readWav, readWav16kMono, encodeWav, WavFormatError, type WavAudio } from './wav.js';
export { native, addonPath } from './native.js';
export { projectRoot, modelsDir, fixturesDir } from './paths.js';
export type * from './types.js';
