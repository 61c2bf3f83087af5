import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { commandLine } from '../commands.js';
import { modelsDir, projectRoot } from '../paths.js';

export interface ResolvedModel {
  path: string;
  /** Where the choice came from: the caller, an environment variable, or the project's models/ folder. */
  source: 'explicit' | 'env' | 'project';
  /** A generated stand-in (see scripts/make-synthetic-model): real compute cost, nonsense text. */
  synthetic: boolean;
}

/** Files tried in models/, best first: the real model, then its synthetic stand-in. */
export const DEFAULT_MODEL_FILES: readonly string[] = ['ggml-tiny.en.bin', 'ggml-tiny.en-synthetic.bin'];
export const DEFAULT_VAD_FILE = 'ggml-silero-v6.2.0.bin';

function resolved(path: string, source: ResolvedModel['source']): ResolvedModel {
  return { path: resolve(path), source, synthetic: /-synthetic\.bin$/.test(path) };
}

/**
 * The one place a Whisper model path is chosen: `explicit`, else `WHISPER_MODEL`, else the first of
 * DEFAULT_MODEL_FILES present in models/. The file is not opened here; loading reports a missing file.
 */
export function resolveModelPath(explicit?: string): ResolvedModel {
  if (explicit) return resolved(explicit, 'explicit');
  const fromEnv = process.env['WHISPER_MODEL'];
  if (fromEnv) return resolved(fromEnv, 'env');
  const found = DEFAULT_MODEL_FILES.map((name) => join(modelsDir, name)).find((path) => existsSync(path));
  if (!found) {
    throw Object.assign(
      new Error(
        'no Whisper model found: pass a path, set WHISPER_MODEL, ' +
          `or put ${DEFAULT_MODEL_FILES.join(' or ')} in ${modelsDir} ` +
          `(${commandLine('modelsFetch', 'tiny.en')} for the real one, ` +
          `${commandLine('modelsSynthetic', 'tiny.en')} for the offline stand-in)`,
      ),
      { code: 'MODEL_FILE' },
    );
  }
  return resolved(found, 'project');
}

/** The Silero VAD v6.2.0 model this package carries (MIT, see NOTICE), so the default works offline. */
export const BUNDLED_VAD_MODEL: string = join(projectRoot, 'engine', 'assets', DEFAULT_VAD_FILE);

/** Silero VAD model path: `explicit`, else `VAD_MODEL`, else the bundled ggml-silero-v6.2.0.bin. */
export function resolveVadModelPath(explicit?: string): string {
  return resolve(explicit || process.env['VAD_MODEL'] || BUNDLED_VAD_MODEL);
}

/**
 * Whether a Whisper model file is multilingual, from its header alone (the vocabulary size: multilingual models
 * have 51865 tokens or more), so a configuration can be checked before the model is loaded. Throws for a file that
 * is not a ggml Whisper model.
 */
export function isMultilingualModel(path: string): boolean {
  const header = Buffer.alloc(8);
  const fd = openSync(path, 'r');
  try {
    if (readSync(fd, header, 0, 8, 0) < 8 || header.readUInt32LE(0) !== GGML_MAGIC) {
      throw Object.assign(new Error(`${path} is not a Whisper ggml model file`), { code: 'MODEL_FILE' });
    }
  } finally {
    closeSync(fd);
  }
  return header.readInt32LE(4) >= MULTILINGUAL_VOCAB;
}

/**
 * Throws (code MODEL_FILE) unless `path` starts as a whisper.cpp Silero VAD file does: the ggml magic, then the
 * model type "silero-16k"; so a wrong file is refused before a server listens rather than when the VAD loads.
 */
export function checkVadModelFile(path: string): void {
  const header = Buffer.alloc(8 + SILERO_TYPE.length);
  const fd = openSync(path, 'r');
  try {
    const read = readSync(fd, header, 0, header.length, 0);
    if (read < header.length || header.readUInt32LE(0) !== GGML_MAGIC || header.toString('latin1', 8) !== SILERO_TYPE) {
      throw Object.assign(
        new Error(`${path} is not a Silero VAD ggml model file (whisper.cpp's format, e.g. ${DEFAULT_VAD_FILE})`),
        {
          code: 'MODEL_FILE',
        },
      );
    }
  } finally {
    closeSync(fd);
  }
}

const SILERO_TYPE = 'silero-16k';
const GGML_MAGIC = 0x67676d6c;
const MULTILINGUAL_VOCAB = 51865;
