/**
 * Downloads official ggml model files into models/ and verifies their size
 * and sha256. See docs/MODELS.md.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { commandLine } from '../engine/commands.js';
import { MODEL_FILES, findModelFile } from '../engine/models/catalog.js';
import { ModelFetchError, fetchModel } from '../engine/models/download.js';

const DEFAULT_NAMES = ['tiny.en'];

const NAME_LINES = MODEL_FILES.map(
  (m) => `          ${m.name.padEnd(14)} ${m.file.padEnd(26)} ${(m.bytes / 1e6).toFixed(1).padStart(6)} MB`,
).join('\n');

const HELP = `Usage: ${commandLine('modelsFetch', '[names...] [--out DIR]')}

Downloads official model files and verifies their size and sha256.
Interrupted downloads resume; verified files already present are skipped.

  names   default: ${DEFAULT_NAMES.join(' ')}
${NAME_LINES}
  --out   destination folder (default: models/ in the project)

MODEL_BASE_URL=<url> downloads from a mirror instead: <url>/<file name>.
`;

async function main(): Promise<number> {
  const config = {
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  } as const;
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const names = positionals.length > 0 ? positionals : DEFAULT_NAMES;
  const unknown = names.filter((n) => !findModelFile(n));
  if (unknown.length > 0) {
    process.stderr.write(
      `Unknown model name: ${unknown.join(', ')}. Known: ${MODEL_FILES.map((m) => m.name).join(', ')}.\n`,
    );
    return 2;
  }

  let failed = false;
  for (const name of names) {
    try {
      const result = await fetchModel(name, {
        ...(values.out === undefined ? {} : { outDir: resolve(values.out) }),
        log: (line) => process.stdout.write(`${line}\n`),
      });
      if (result.outcome !== 'skipped')
        process.stdout.write(`${result.model.file}: verified, saved to ${result.path}\n`);
    } catch (err) {
      if (!(err instanceof ModelFetchError)) throw err;
      process.stderr.write(`error: ${err.message}\n`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
