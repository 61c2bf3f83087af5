// Public entry `whisper-stream-server/server`: starts the server from code with the settings `npm start` takes.
export { startApp, type App } from './app.js';
export { loadConfig, ConfigError, HELP, type ServerConfig } from './config.js';
export { prepareDefaultModels } from './default-models.js';
export { createLogger, LOG_LEVELS, type Logger, type LogLevel, type LogFields } from './log.js';
