#!/usr/bin/env node
// The first step of `npm start` and `npm test`: on a clone where `npm ci` has not run, one line saying so instead of
// a MODULE_NOT_FOUND stack. Plain JavaScript, since it runs before anything is compiled.
// Usage: node scripts/check-installed.mjs [--compiled]   (--compiled: dist/ must be there too, as npm start needs)
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
// The dependencies, the whisper.cpp addon, the compiled TypeScript.
const needed = ['node_modules', 'build/Release/whisper.node'];
if (process.argv.includes('--compiled')) needed.push('dist/server/main.js');
const missing = needed.filter((path) => !existsSync(join(root, path)));
if (missing.length > 0) {
  const fix = 'run npm ci first (it needs Node 20.10+, cmake and g++)';
  console.error(`whisper-stream-server is not installed here yet (missing: ${missing.join(', ')}): ${fix}`);
  process.exit(1);
}
