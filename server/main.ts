// The server's entry point (npm start): settings from the environment and flags, start-up, graceful shutdown.
import { commandLine } from '../engine/commands.js';
import { ConfigError, HELP, loadConfig, type ServerConfig } from './config.js';
import { startApp, type App } from './app.js';
import { prepareDefaultModels } from './default-models.js';
import { createLogger, stackFrames, type LogLevel, type Logger } from './log.js';

/** After a shutdown, time for the last writes to flush before the process exits regardless. */
const EXIT_GRACE_MS = 1000;

/** Engine codes of a model file that is not a usable Whisper model: the operator's to fix, not a bug. */
const MODEL_CODES: ReadonlySet<unknown> = new Set(['MODEL_FILE', 'MODEL_LOAD']);

/**
 * The message of a start-up failure the operator can fix (a bad setting, a port in use: ConfigError; a missing or
 * unusable model file), or undefined for anything else, which is a bug and is logged with its stack.
 */
function operatorMessage(error: unknown): string | undefined {
  if (error instanceof ConfigError) return error.message;
  if (!(error instanceof Error)) return undefined;
  return MODEL_CODES.has('code' in error ? error.code : undefined) ? error.message : undefined;
}

/** Says once why the server did not start. */
function reportStartFailure(log: Logger, level: LogLevel, error: unknown): void {
  const message = operatorMessage(error);
  if (message === undefined) {
    log.error('server failed to start', { error });
    return;
  }
  const stack = level === 'debug' && error instanceof Error ? stackFrames(error) : undefined;
  log.error(message, stack === undefined ? {} : { stack });
}

async function main(): Promise<number> {
  let config: ServerConfig | 'help';
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    // One line: the whole help after it would scroll the error out of sight.
    process.stderr.write(`${(error as Error).message} (${commandLine('serve', '--help')} lists every setting)\n`);
    return 2;
  }
  if (config === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const log = createLogger(config.logLevel, undefined, config.logFormat);
  let app: App | undefined;
  // A promise nobody handled is a bug, but one request's bug must not end every session: it is logged, counted in
  // stt_unhandled_rejections_total, and the server goes on.
  process.on('unhandledRejection', (reason) => {
    log.error('unhandled promise rejection (a bug; the server goes on)', { error: reason });
    app?.unhandledRejection();
  });
  try {
    await prepareDefaultModels(config, log);
    app = await startApp(config, log);
  } catch (error) {
    reportStartFailure(log, config.logLevel, error);
    return 1;
  }
  const started = app;
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info('shutting down', { signal });
      started.close().then(resolve, (error: unknown) => {
        log.error('shutdown failed', { error });
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

process.exitCode = await main();
// Everything was closed; whatever handle a dropped client or a library still holds must not keep the process alive.
setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
