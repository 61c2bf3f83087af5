// `whisper-stream models list`: the official models and what models/ holds.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_VAD_FILE, commandLine, modelsDir } from '../engine/index.js';
import { MODEL_FILES } from '../engine/models/catalog.js';

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1).padStart(6)} MB`;

/**
 * What `models fetch` can download and what models/ already holds, so a newcomer sees at once whether the server
 * will run a real model or the synthetic stand-in. Presence is judged by size; `models fetch` verifies the sha256.
 */
export function listModels(out: NodeJS.WritableStream, dir: string = modelsDir): void {
  let present: string[] = [];
  try {
    present = readdirSync(dir).filter((file) => file.endsWith('.bin'));
  } catch {
    // No models/ yet: everything is listed as not installed.
  }
  const size = (file: string): number => statSync(join(dir, file)).size;
  out.write(`Official models (${commandLine('modelsFetch', 'NAME')}), in ${dir}:\n`);
  for (const model of MODEL_FILES) {
    const installed = !present.includes(model.file)
      ? 'not installed'
      : size(model.file) === model.bytes
        ? 'installed'
        : 'incomplete';
    // The default VAD model ships with the package and is used from there.
    const state =
      installed === 'not installed' && model.file === DEFAULT_VAD_FILE ? 'bundled with the package' : installed;
    out.write(`  ${model.name.padEnd(14)} ${model.file.padEnd(26)} ${mb(model.bytes)}  ${state}\n`);
  }
  const others = present.filter((file) => !MODEL_FILES.some((model) => model.file === file));
  if (others.length === 0) return;
  out.write('Other model files (the -synthetic ones produce nonsense text):\n');
  for (const file of others) out.write(`  ${file.padEnd(41)} ${mb(size(file))}\n`);
}
