#!/usr/bin/env node
// The command-line entry point: `whisper-stream <command>` (npx whisper-stream, or npm run cli -- <command>).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConnectionError, HandshakeError } from '../client/index.js';
import { closest, optionError } from '../server/did-you-mean.js';
import { listModels } from './list-models.js';
import { RecorderError, streamMicrophone } from './microphone.js';
import { transcribeFile } from './transcribe-file.js';
import { DEFAULT_URL, EXIT, MAIN_HELP, MIC_HELP, MODELS_HELP, TRANSCRIBE_HELP } from './usage.js';

const script = (name: string): string => fileURLToPath(new URL(`../${name}`, import.meta.url));

/** Runs a sibling entry point in its own process, passing signals through, and returns its exit code. */
function delegate(entry: string, args: string[]): Promise<number> {
  const child = spawn(process.execPath, [script(entry), ...args], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  process.on('SIGINT', forward).on('SIGTERM', forward);
  return new Promise((resolve) => child.once('close', (code) => resolve(code ?? EXIT.failed)));
}

/** The error and the help's usage line, not the whole help, which would scroll the error out of sight. */
function usageError(message: string, help: string): number {
  process.stderr.write(`whisper-stream: ${message}\n${help.split('\n')[0]}   (--help lists the options)\n`);
  return EXIT.usage;
}

const COMMANDS = ['serve', 'transcribe', 'mic', 'models', 'hash-api-key', 'help'];

function models(args: string[]): Promise<number> | number {
  const [action, ...names] = args;
  if (action === 'fetch') return delegate('scripts/fetch-model.js', names);
  if (action === 'synthetic') return delegate('scripts/make-synthetic-model.js', names);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(MODELS_HELP);
    return EXIT.ok;
  }
  if (action === 'list') {
    listModels(process.stdout);
    return EXIT.ok;
  }
  return usageError('models takes list, fetch or synthetic', MODELS_HELP);
}

const CONNECTION_OPTIONS = {
  url: { type: 'string', default: process.env['WHISPER_STREAM_URL'] ?? DEFAULT_URL },
  language: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function transcribe(args: string[]): Promise<number> {
  const config = {
    args,
    allowPositionals: true,
    options: { ...CONNECTION_OPTIONS, fast: { type: 'boolean', default: false } },
  } as const;
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    return usageError(optionError(error, [...Object.keys(CONNECTION_OPTIONS), 'fast']), TRANSCRIBE_HELP);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(TRANSCRIBE_HELP);
    return EXIT.ok;
  }
  const file = positionals[0];
  if (!file) return usageError('transcribe needs an audio file', TRANSCRIBE_HELP);
  return transcribeFile(file, {
    url: values.url,
    language: values.language,
    token: values.token,
    json: values.json,
    fast: values.fast,
  });
}

async function mic(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof CONNECTION_OPTIONS }>>;
  try {
    parsed = parseArgs({ args, options: CONNECTION_OPTIONS });
  } catch (error) {
    return usageError(optionError(error, Object.keys(CONNECTION_OPTIONS)), MIC_HELP);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(MIC_HELP);
    return EXIT.ok;
  }
  return streamMicrophone({ url: values.url, language: values.language, token: values.token, json: values.json });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return delegate('server/main.js', rest);
    case 'models':
      return models(rest);
    case 'hash-api-key':
      return delegate('scripts/hash-api-key.js', rest);
    case 'transcribe':
      return transcribe(rest);
    case 'mic':
      return mic(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(MAIN_HELP);
      return command === undefined ? EXIT.usage : EXIT.ok;
    default: {
      const suggestion = closest(command, COMMANDS);
      return usageError(
        `unknown command ${JSON.stringify(command)}${suggestion ? `; did you mean ${suggestion}?` : ''}`,
        MAIN_HELP,
      );
    }
  }
}

/** The exit code of a failure's kind (see EXIT). */
function exitCodeOf(error: unknown): number {
  if (error instanceof HandshakeError) return EXIT.refused;
  if (error instanceof ConnectionError) return EXIT.cannotConnect;
  if (error instanceof RecorderError) return EXIT.recorder;
  return EXIT.failed;
}

// A reader that stops early (`| head -2`) is done with the output, not a failure: stop quietly, as Unix tools do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? EXIT.ok);
});

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`whisper-stream: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = exitCodeOf(error);
}
