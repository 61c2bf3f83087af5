/**
 * The commands this package's messages tell people to run, spelled as they work where it runs: npm scripts in a
 * checkout of the repository, the `whisper-stream` bin (through npx) where it is installed as a dependency.
 */
import { sep } from 'node:path';
import { projectRoot } from './paths.js';

/** Installed in another project's node_modules (a path install links to a checkout, which counts as a checkout). */
export const installedAsDependency: boolean = projectRoot.split(sep).includes('node_modules');

export type CommandName = 'modelsFetch' | 'modelsSynthetic' | 'serve' | 'buildAddon' | 'hashApiKey';

const IN_CHECKOUT: Record<CommandName, string> = {
  modelsFetch: 'npm run models:fetch',
  modelsSynthetic: 'npm run models:synthetic',
  serve: 'npm start',
  buildAddon: 'npm run build:addon',
  hashApiKey: 'npm run hash-api-key',
};

const INSTALLED: Record<CommandName, string> = {
  modelsFetch: 'npx whisper-stream models fetch',
  modelsSynthetic: 'npx whisper-stream models synthetic',
  serve: 'npx whisper-stream serve',
  buildAddon: 'npm rebuild whisper-stream-server',
  hashApiKey: 'npx whisper-stream hash-api-key',
};

/** How to turn other audio into the 16-bit PCM WAV the file endpoint and `whisper-stream transcribe` take. */
export const TO_WAV = 'convert other audio first, e.g. ffmpeg -i INPUT -ac 1 -ar 16000 -c:a pcm_s16le OUTPUT.wav';

/** The command line of `name` with `args` here; an npm script takes its arguments after `--`. */
export function commandLine(name: CommandName, args = ''): string {
  const base = (installedAsDependency ? INSTALLED : IN_CHECKOUT)[name];
  if (args === '') return base;
  return installedAsDependency ? `${base} ${args}` : `${base} -- ${args}`;
}
