// Fails, listing file:line, on any line over 120 columns in the tracked source files. Biome's formatter keeps code
// within 120 columns but leaves long comments and string literals as they are; this catches those.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';

const MAX_COLUMNS = 120;
const EXTENSIONS = new Set(['.ts', '.cts', '.mjs', '.js', '.html', '.json', '.jsonc', '.sh']);
/** Generated or third-party. */
const SKIPPED = [/^fixtures\//, /(^|\/)package-lock\.json$/];

/** Tracked files of a checked extension, and shell scripts without one (.ci/run). */
function checkedFile(path) {
  if (SKIPPED.some((pattern) => pattern.test(path))) return false;
  if (EXTENSIONS.has(extname(path))) return true;
  return extname(path) === '' && /^#!.*\b(ba)?sh\b/.test(readFileSync(path, 'utf8').split('\n', 1)[0] ?? '');
}

const files = execFileSync('git', ['ls-files', '-z'], { encoding: 'utf8' })
  .split('\0')
  .filter((path) => path !== '' && checkedFile(path));
const long = [];
for (const path of files) {
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      // Columns are characters, not UTF-16 units or bytes: '–' is one column.
      const columns = [...line.replace(/\r$/, '')].length;
      if (columns > MAX_COLUMNS) long.push(`${path}:${i + 1}: ${columns} columns`);
    });
}
if (long.length > 0) {
  console.error(`${long.join('\n')}\n${long.length} line(s) over ${MAX_COLUMNS} columns`);
  process.exit(1);
}
