import { existsSync } from 'node:fs';
import { VadModel, native, resolveModelPath, resolveVadModelPath, type ResolvedModel } from '../engine/index.js';
import { LanguagePolicy, SessionError, StreamSession, TranscriptionScheduler } from '../engine/streaming/index.js';
import { TranscriberPool } from '../workers/transcriber-pool.js';
import { Authenticator } from './auth/authenticator.js';
import { ConfigError, type ServerConfig } from './config.js';
import { EventLoopLagMonitor } from './event-loop-lag.js';
import type { Logger } from './log.js';
import { ServerMetrics } from './metrics.js';
import { SessionRegistry } from './sessions/session-registry.js';
import { MemorySessionStore } from './sessions/session-store.js';
import { handleTranscriptions } from './openai-transcriptions.js';
import { ForwardingRunner, RemoteTranscriber } from './remote-transcriber.js';
import { StreamServer } from './stream-server.js';

export interface App {
  port: number;
  /** ws://host:port/stream */
  streamUrl: string;
  /** http://host:port */
  httpUrl: string;
  model: ResolvedModel;
  close(): Promise<void>;
}

/**
 * Starts the server: it listens at once (so /healthz answers while models load), loads the model into every
 * worker, then turns ready. Rejects with a readable error when a model file is missing or unusable.
 */
export async function startApp(config: ServerConfig, log: Logger): Promise<App> {
  const model = resolveModelPath(config.modelPath);
  if (!existsSync(model.path)) throw new ConfigError(`Whisper model file not found: ${model.path}`);
  if (model.synthetic) {
    log.warn(
      'USING THE SYNTHETIC STAND-IN MODEL: transcripts will be NONSENSE. Run `npm run models:fetch` to download the real ' +
        'tiny.en into models/ (or set WHISPER_MODEL / --model), then restart.',
      { model: model.path },
    );
  }
  const vadModelPath = resolveVadModelPath(config.vadModelPath);
  if (!existsSync(vadModelPath)) throw new ConfigError(`VAD model file not found: ${vadModelPath}`);
  new VadModel(vadModelPath).free();

  // Each running transcription holds a libuv pool thread (see main.cts); with fewer, transcriptions queue there.
  const uvThreads = Number(process.env['UV_THREADPOOL_SIZE']) || 4;
  if (config.poolSize > uvThreads) {
    log.warn('POOL_SIZE exceeds the libuv thread pool: transcriptions will wait for its threads', {
      poolSize: config.poolSize,
      uvThreadpoolSize: uvThreads,
      fix: 'start Node with UV_THREADPOOL_SIZE set above POOL_SIZE (npm start does this)',
    });
  }
  const lag = new EventLoopLagMonitor();
  const metrics = new ServerMetrics();
  const server = new StreamServer(log, lag, metrics);
  const address = await server.listen(config.port, config.host);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  log.info('listening', { host: address.address, port: address.port, model: model.path, poolSize: config.poolSize, threadsPerTask: config.threadsPerTask });

  let pool: TranscriberPool;
  try {
    pool = await TranscriberPool.start({ modelPath: model.path, size: config.poolSize, threads: config.threadsPerTask });
  } catch (error) {
    await server.close();
    lag.stop();
    throw error;
  }
  let registry: SessionRegistry | undefined;
  const close = async (): Promise<void> => {
    await server.close();
    await registry?.closeAll();
    await pool.close();
    lag.stop();
  };

  const languages = new LanguagePolicy(
    native.languages().map((language) => language.code),
    pool.model.multilingual,
  );
  let defaultLanguage: string;
  try {
    defaultLanguage = languages.check(config.defaultLanguage);
  } catch (error) {
    await close();
    throw error instanceof SessionError ? new ConfigError(`DEFAULT_LANGUAGE: ${error.message}`) : error;
  }

  const runner = config.forwardUrl
    ? new ForwardingRunner(
        pool,
        new RemoteTranscriber({
          url: config.forwardUrl,
          token: config.forwardToken,
          model: config.forwardModel,
          timeoutMs: config.forwardTimeoutMs,
          retries: config.forwardRetries,
        }),
      )
    : pool;
  const scheduler = new TranscriptionScheduler(runner, config.poolSize, metrics);
  const settings = {
    strategy: config.strategy,
    partialIntervalMs: config.partialIntervalMs,
    endSilenceMs: config.endSilenceMs,
    maxUtteranceMs: config.maxUtteranceMs,
    threads: config.threadsPerTask,
    finalBeamSize: config.finalBeamSize,
  };
  registry = new SessionRegistry({
    store: new MemorySessionStore(),
    resumeTtlMs: config.resumeTtlMs,
    maxSessions: config.maxSessions,
    newSession: () => new StreamSession({ scheduler, vadModelPath, languages, defaultLanguage, settings }),
    log,
    latency: (isFinal, ms) => metrics.latency(isFinal, ms),
  });
  const sessions = registry;
  metrics.watch({ sessions: () => sessions.stats, totals: () => sessions.totals, scheduler: () => scheduler.stats });
  const authenticator = new Authenticator({ apiKeyHashes: config.apiKeyHashes, jwtSecret: config.jwtSecret });
  server.ready({
    scheduler,
    registry,
    authenticator,
    ackIntervalMs: config.ackIntervalMs,
    pingIntervalMs: config.pingIntervalMs,
    idleTimeoutMs: config.idleTimeoutMs,
    maxSessionMs: config.maxSessionMs,
    overloadPendingMs: config.overloadPendingMs,
    transcribeUpload: (req, res, query) =>
      handleTranscriptions(req, res, query, {
        scheduler,
        authenticator,
        languages,
        defaultLanguage,
        maxUploadBytes: config.maxUploadBytes,
        beamSize: config.finalBeamSize,
        threads: config.threadsPerTask,
        log,
      }),
    describe: () => ({
      model: { path: model.path, type: pool.model.modelType, multilingual: pool.model.multilingual, synthetic: model.synthetic },
      defaultLanguage,
      pool: { size: config.poolSize, threadsPerTask: config.threadsPerTask, uvThreadpoolSize: uvThreads },
      settings,
      auth: authenticator.enabled,
      forwardFinalsTo: config.forwardUrl ?? null,
      scheduler: scheduler.stats,
    }),
  });
  log.info('ready', { model: model.path, multilingual: pool.model.multilingual, defaultLanguage, auth: authenticator.enabled });

  return {
    port: address.port,
    streamUrl: `ws://${host}:${address.port}/stream`,
    httpUrl: `http://${host}:${address.port}`,
    model,
    close,
  };
}
