#!/usr/bin/env node
// The command-line entry point: `whisper-stream <command>` (npx whisper-stream, or npm run cli -- <command>).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { listModels } from './list-models.js';
import { streamMicrophone } from './microphone.js';
import { transcribeFile } from './transcribe-file.js';

const HELP = `Usage: whisper-stream <command> [options]

  serve [server options]          start the server (same settings as npm start; serve --help lists them)
  transcribe FILE [options]       stream a WAV file through /stream, printing partials on one line and finals below
  mic [options]                   stream the default microphone (needs arecord or sox)
  models list|fetch|synthetic     list official and installed models, download and verify them, or generate synthetic stand-ins

Options for transcribe and mic:
  --url URL        server stream URL (default ws://127.0.0.1:8080/stream, or $WHISPER_STREAM_URL)
  --language CODE  ISO 639-1 code or auto (default: the server's)
  --token TOKEN    API key or JWT when the server requires one
  --json           print every transcript and error as a JSON line
  --fast           (transcribe) send the file as fast as possible instead of at real-time pace
`;

const script = (name: string): string => fileURLToPath(new URL(`../${name}`, import.meta.url));

/** Runs a sibling entry point in its own process, passing signals through, and returns its exit code. */
function delegate(entry: string, args: string[]): Promise<number> {
  const child = spawn(process.execPath, [script(entry), ...args], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  process.on('SIGINT', forward).on('SIGTERM', forward);
  return new Promise((resolve) => child.once('close', (code) => resolve(code ?? 1)));
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return delegate('server/main.js', rest);
    case 'models': {
      const [action, ...names] = rest;
      if (action === 'fetch') return delegate('scripts/fetch-model.js', names);
      if (action === 'synthetic') return delegate('scripts/make-synthetic-model.js', names);
      if (action === 'list') {
        listModels(process.stdout);
        return 0;
      }
      process.stderr.write(`models takes list, fetch or synthetic\n\n${HELP}`);
      return 2;
    }
    case 'transcribe':
    case 'mic': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          url: { type: 'string', default: process.env['WHISPER_STREAM_URL'] ?? 'ws://127.0.0.1:8080/stream' },
          language: { type: 'string' },
          token: { type: 'string' },
          json: { type: 'boolean', default: false },
          fast: { type: 'boolean', default: false },
        },
      });
      const common = { url: values.url, language: values.language, token: values.token, json: values.json };
      if (command === 'mic') return streamMicrophone(common);
      const file = positionals[0];
      if (!file) {
        process.stderr.write(`transcribe needs a WAV file\n\n${HELP}`);
        return 2;
      }
      return transcribeFile(file, { ...common, fast: values.fast });
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${HELP}`);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`whisper-stream: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
