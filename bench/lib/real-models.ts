// Which files in a models folder are real Whisper weights: official ggml names, not synthetic stand-ins or Silero VAD.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * ggml-tiny.en.bin, ggml-base.bin, ggml-tiny.en-q8_0.bin...; not ggml-*-synthetic.bin (nonsense text by design) nor
 * ggml-silero-*.
 */
export function isRealModelFile(name: string): boolean {
  return /^ggml-.+\.bin$/.test(name) && !name.endsWith('-synthetic.bin') && !name.startsWith('ggml-silero-');
}

/** Paths of the real Whisper models in `dir`, by name; none when the folder does not exist. */
export function findRealModels(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter(isRealModelFile)
    .sort()
    .map((name) => join(dir, name))
    .filter((path) => statSync(path, { throwIfNoEntry: false })?.isFile() === true);
}
