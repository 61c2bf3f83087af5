import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DEFAULT_MODEL_FILES, VadModel, modelsDir, native, resolveModelPath, resolveVadModelPath, type ResolvedModel } from '../engine/index.js';
import { LanguagePolicy, SessionError, StreamSession, TranscriptionScheduler } from '../engine/pipeline/index.js';
import { TranscriberPool } from '../workers/transcriber-pool.js';
import { Authenticator } from './auth/authenticator.js';
import { ConfigError, type ServerConfig } from './config.js';
import { EventLoopLagMonitor } from './event-loop-lag.js';
import type { Logger } from './log.js';
import { ServerMetrics } from './metrics.js';
import { SessionRegistry } from './sessions/session-registry.js';
import { MemorySessionStore } from './sessions/session-store.js';
import { handleTranscriptions } from './http/openai-transcriptions.js';
import { ForwardingRunner, RemoteTranscriber } from './remote-transcriber.js';
import { StreamServer } from './stream-server.js';

export interface App {
  port: number;
  /** ws://host:port/stream */
  streamUrl: string;
  /** http://host:port */
  httpUrl: string;
  /** The local Whisper model; null when finals are forwarded and there is no real model to run partials. */
  model: ResolvedModel | null;
  close(): Promise<void>;
}

/**
 * The local model, if the server runs one. Forwarding finals to a remote server needs none: without a configured
 * model or the real tiny.en in models/, the server runs no model at all and sends no partials, rather than
 * partials from the synthetic stand-in that would contradict every final.
 */
function localModel(config: ServerConfig): ResolvedModel | null {
  if (config.forwardUrl && !config.modelPath && !existsSync(join(modelsDir, DEFAULT_MODEL_FILES[0] as string))) return null;
  const model = resolveModelPath(config.modelPath);
  if (!existsSync(model.path)) throw new ConfigError(`Whisper model file not found: ${model.path}`);
  return model;
}

/**
 * Starts the server: it listens at once (so /healthz answers while models load), loads the model into every
 * worker, then turns ready. Rejects with a readable error when a model file is missing or unusable.
 */
export async function startApp(config: ServerConfig, log: Logger): Promise<App> {
  const model = localModel(config);
  if (!model && config.strategy === 'naive') throw new ConfigError('STRATEGY=naive needs a local model');
  if (!model) log.warn('no local Whisper model: finals go to FORWARD_URL, and no partials are sent', { forwardUrl: config.forwardUrl });
  if (model?.synthetic) {
    log.warn(
      'USING THE SYNTHETIC STAND-IN MODEL: transcripts will be NONSENSE. Run `npm run models:fetch` to download the real ' +
        'tiny.en into models/ (or set WHISPER_MODEL / --model), then restart.',
      { model: model.path },
    );
  }
  const vadModelPath = resolveVadModelPath(config.vadModelPath);
  if (!existsSync(vadModelPath)) throw new ConfigError(`VAD model file not found: ${vadModelPath}`);
  new VadModel(vadModelPath).free();

  const lag = new EventLoopLagMonitor();
  const metrics = new ServerMetrics();
  const server = new StreamServer(log, lag, metrics);
  const address = await server.listen(config.port, config.host);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  log.info('listening', { host: address.address, port: address.port, model: model?.path ?? null, poolSize: config.poolSize, threadsPerTask: config.threadsPerTask });

  let pool: TranscriberPool | null = null;
  try {
    if (model) pool = await TranscriberPool.start({ modelPath: model.path, size: config.poolSize, threads: config.threadsPerTask });
  } catch (error) {
    await server.close();
    lag.stop();
    throw error;
  }
  let registry: SessionRegistry | undefined;
  const close = async (): Promise<void> => {
    await server.close();
    await registry?.closeAll();
    await pool?.close();
    lag.stop();
  };

  // Without a local model the remote server decides what it can transcribe.
  const multilingual = pool?.model.multilingual ?? true;
  const languages = new LanguagePolicy(
    native.languages().map((language) => language.code),
    multilingual,
  );
  let defaultLanguage: string;
  try {
    defaultLanguage = languages.check(config.defaultLanguage);
  } catch (error) {
    await close();
    throw error instanceof SessionError ? new ConfigError(`DEFAULT_LANGUAGE: ${error.message}`) : error;
  }

  const remote = config.forwardUrl
    ? new RemoteTranscriber({
        url: config.forwardUrl,
        token: config.forwardToken,
        model: config.forwardModel,
        timeoutMs: config.forwardTimeoutMs,
        retries: config.forwardRetries,
      })
    : null;
  // Remote finals get slots of their own (at most one per session runs at a time anyway), so a slow remote
  // cannot hold the workers that partials need.
  let scheduler: TranscriptionScheduler;
  if (remote) {
    scheduler = new TranscriptionScheduler(pool ? new ForwardingRunner(pool, remote) : remote, { final: config.maxSessions, partial: config.poolSize }, metrics);
  } else if (pool) {
    scheduler = new TranscriptionScheduler(pool, config.poolSize, metrics);
  } else {
    await close();
    throw new ConfigError('no Whisper model to run and no FORWARD_URL to send audio to');
  }
  const settings = {
    strategy: config.strategy,
    partials: pool !== null,
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
      // The file's name, not its path: /readyz answers anyone, so it discloses no paths, URLs or credentials.
      model: model && pool ? { file: basename(model.path), type: pool.model.modelType, multilingual, synthetic: model.synthetic } : null,
      defaultLanguage,
      pool: pool ? { size: config.poolSize, threadsPerTask: config.threadsPerTask } : null,
      settings,
      auth: authenticator.enabled,
      forwarding: config.forwardUrl !== undefined,
      scheduler: scheduler.stats,
    }),
  });
  log.info('ready', { model: model?.path ?? null, multilingual, defaultLanguage, auth: authenticator.enabled });

  return {
    port: address.port,
    streamUrl: `ws://${host}:${address.port}/stream`,
    httpUrl: `http://${host}:${address.port}`,
    model,
    close,
  };
}
