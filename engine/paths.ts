import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'whisper-stream-server';

function findProjectRoot(start: string): string {
  let dir = start;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown };
      if (parsed.name === PACKAGE_NAME) return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the ${PACKAGE_NAME} package root above ${start}`);
    dir = parent;
  }
}

/** Root of this package, whether running from dist/ or from an installed copy. */
export const projectRoot: string = findProjectRoot(dirname(fileURLToPath(import.meta.url)));

/** Default folder for Whisper and VAD model files. */
export const modelsDir: string = join(projectRoot, 'models');

/** Folder for test and benchmark audio. */
export const fixturesDir: string = join(projectRoot, 'fixtures');
