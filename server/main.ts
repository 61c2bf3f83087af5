import { ConfigError, HELP, loadConfig } from './config.js';
import { startApp } from './app.js';
import { prepareDefaultModels } from './default-models.js';
import { createLogger } from './log.js';

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (config === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const log = createLogger(config.logLevel);
  let app;
  try {
    await prepareDefaultModels(config, log);
    app = await startApp(config, log);
  } catch (error) {
    log.error(error instanceof ConfigError ? error.message : 'server failed to start', { error });
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
