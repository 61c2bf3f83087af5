/** Wiring only: builds the server's parts from its configuration, in order, and takes them down again. */
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import {
  DEFAULT_MODEL_FILES,
  checkVadModelFile,
  commandLine,
  isMultilingualModel,
  modelsDir,
  native,
  resolveModelPath,
  resolveVadModelPath,
  type ResolvedModel,
} from '../engine/index.js';
import {
  LanguagePolicy,
  LoadController,
  SessionError,
  StreamSession,
  TranscriptionScheduler,
  type LoadSnapshot,
  type SchedulerObserver,
  type StreamSettings,
  type TranscriptionRunner,
} from '../engine/pipeline/index.js';
import { prepareOpus } from '../engine/codecs/opus.js';
import { AudioDecoder } from '../workers/audio-decoder.js';
import { TranscriberPool } from '../workers/transcriber-pool.js';
import { VadService } from '../workers/vad-service.js';
import { Authenticator } from './auth/authenticator.js';
import { ConfigError, type ServerConfig } from './config.js';
import { EventLoopLagMonitor } from './event-loop-lag.js';
import { handleTranscriptions } from './http/openai-transcriptions.js';
import { OriginPolicy } from './http/origin-policy.js';
import { HttpRouter } from './http/router.js';
import { handleAssemblyAiToken, handleClientSecret, handleTranscriptionSession } from './http/token-routes.js';
import { UploadGate } from './http/upload-gate.js';
import type { Logger } from './log.js';
import { memoryReturn } from './memory-return.js';
import { ServerMetrics } from './metrics.js';
import { ForwardingRunner, RemoteTranscriber } from './remote-transcriber.js';
import { RedisSessionStore } from './sessions/redis-session-store.js';
import { SessionRegistry } from './sessions/session-registry.js';
import { MemorySessionStore } from './sessions/session-store.js';
import { attachSocketIo } from './socketio/attach.js';
import { StreamServer } from './stream-server.js';

export interface App {
  port: number;
  /** ws://host:port/stream (wss:// with TLS) */
  streamUrl: string;
  /** http://host:port (https:// with TLS) */
  httpUrl: string;
  /** The local Whisper model; null when finals are forwarded and there is no real model to run partials. */
  model: ResolvedModel | null;
  /** Counts a promise rejection nobody handled (see main.ts). */
  unhandledRejection(): void;
  close(): Promise<void>;
}

/** How often the load controller measures demand and adjusts the partial interval. */
const LOAD_UPDATE_MS = 1000;

/**
 * The local model, if the server runs one. Forwarding finals to a remote server needs none: without a configured
 * model or the real tiny.en in models/, the server runs no model at all and sends no partials, rather than
 * partials from the synthetic stand-in that would contradict every final.
 */
function localModel(config: ServerConfig): ResolvedModel | null {
  if (config.forwardUrl && !config.modelPath && !existsSync(join(modelsDir, DEFAULT_MODEL_FILES[0] as string)))
    return null;
  const model = resolveModelPath(config.modelPath);
  if (!existsSync(model.path)) throw new ConfigError(`Whisper model file not found: ${model.path}`);
  return model;
}

/** The shared session store; a URL that does not answer at start-up is the operator's to fix. */
async function connectStore(url: string, resumeTtlMs: number, log: Logger): Promise<RedisSessionStore> {
  try {
    return await RedisSessionStore.connect({ url, resumeTtlMs, log });
  } catch (error) {
    throw new ConfigError(`SESSION_STORE: ${(error as Error).message}`);
  }
}

/** Tells the load controller about the work that runs on local workers (not finals sent to a remote server). */
function localWork(load: LoadController, remoteFinals: boolean): SchedulerObserver {
  const local = (kind: string): boolean => !(remoteFinals && kind !== 'partial');
  const cls = (kind: string): 'final' | 'partial' => (kind === 'partial' ? 'partial' : 'final');
  return {
    started: (kind) => {
      if (local(kind)) load.started(cls(kind));
    },
    finished: (kind, runMs, end, overdueMs) => {
      if (local(kind)) load.finished(cls(kind), runMs, end === 'done', overdueMs);
    },
  };
}

/** The load as /readyz and /stats show it: two decimals, not a float's binary fraction (0.13000000000000078). */
function shownLoad(snapshot: LoadSnapshot): LoadSnapshot {
  return { ...snapshot, load: Math.round(snapshot.load * 100) / 100 };
}

function readTls(config: ServerConfig): { cert: Buffer; key: Buffer } | null {
  if (config.tlsCertFile === undefined || config.tlsKeyFile === undefined) return null;
  try {
    return { cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile) };
  } catch (error) {
    throw new ConfigError(`cannot read the TLS certificate or key: ${(error as Error).message}`);
  }
}

/** The language policy, checked against the model's header before anything is loaded or listens. */
function languagePolicy(
  model: ResolvedModel | null,
  config: ServerConfig,
): { languages: LanguagePolicy; defaultLanguage: string } {
  // Without a local model the remote server decides what it can transcribe.
  const multilingual = model ? isMultilingualModel(model.path) : true;
  const languages = new LanguagePolicy(
    native.languages().map((language) => language.code),
    multilingual,
  );
  try {
    return { languages, defaultLanguage: languages.check(config.defaultLanguage) };
  } catch (error) {
    throw error instanceof SessionError ? new ConfigError(`DEFAULT_LANGUAGE: ${error.message}`) : error;
  }
}

/**
 * Starts the server: checks what can be checked without loading anything, listens (so /healthz answers while models
 * load), loads the models, then turns ready. Rejects with a readable ConfigError for a bad configuration.
 */
export async function startApp(config: ServerConfig, log: Logger): Promise<App> {
  const model = localModel(config);
  if (!model && config.strategy === 'naive') throw new ConfigError('STRATEGY=naive needs a local model');
  const { languages, defaultLanguage } = languagePolicy(model, config);
  const vadModelPath = resolveVadModelPath(config.vadModelPath);
  if (!existsSync(vadModelPath)) throw new ConfigError(`VAD model file not found: ${vadModelPath}`);
  checkVadModelFile(vadModelPath);
  const tls = readTls(config);
  if (!model) log.warn('no local Whisper model: finals go to FORWARD_URL, and no partials are sent');
  if (model?.synthetic) {
    log.warn(
      'USING THE SYNTHETIC STAND-IN MODEL: transcripts will be NONSENSE. Run ' +
        `\`${commandLine('modelsFetch', 'tiny.en')}\` to ` +
        'download the real tiny.en into models/ (or set WHISPER_MODEL / --model), then restart.',
      { model: basename(model.path) },
    );
  }

  const lag = new EventLoopLagMonitor();
  const metrics = new ServerMetrics();
  const origins = new OriginPolicy(config.allowedOrigins, tls ? 'https' : 'http');
  let server: StreamServer | null = null;
  const router = new HttpRouter(log, lag, metrics, origins, () => server?.openConnections ?? 0);
  server = new StreamServer({
    log,
    metrics,
    router,
    origins,
    tls,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    handOverAtShutdown: config.sessionStore !== undefined,
  });
  attachSocketIo(server, { log, metrics, origins });
  const listening = server;
  let address: AddressInfo;
  try {
    address = await listening.listen(config.port, config.host);
  } catch (error) {
    lag.stop();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new ConfigError(
        `port ${config.port} on ${config.host} is already in use: stop what listens there, or pick another port ` +
          'with --port (PORT); 0 picks a free one',
      );
    }
    if (code === 'EACCES')
      throw new ConfigError(`no permission to listen on port ${config.port}: use a port above 1023 with --port (PORT)`);
    throw error;
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  log.info('listening', {
    host: address.address,
    port: address.port,
    tls: tls !== null,
    model: model ? basename(model.path) : null,
    poolSize: config.poolSize,
    threadsPerTask: config.threadsPerTask,
  });

  const stops: (() => Promise<void> | void)[] = [() => lag.stop()];
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      router.ready(null);
      await listening.close();
      for (const stop of stops.reverse()) await stop();
    })());
  try {
    // A thread that dies is restarted and its streams carried on (see VadService); the log says so.
    const vad = await VadService.start(vadModelPath, (fault) =>
      log.warn(`speech detection thread ${fault.event}`, fault),
    );
    stops.push(() => vad.close());
    const pool = model
      ? await TranscriberPool.start({
          modelPath: model.path,
          size: config.poolSize,
          threads: config.threadsPerTask,
          wordTimestamps: true,
          onFault: (error) => log.warn('a transcription worker died; Piscina replaces it', { error: error.message }),
        })
      : null;
    if (pool) stops.push(() => pool.close());
    const decoder = new AudioDecoder();
    stops.push(() => decoder.close());
    // Live Opus streams (WebM, Ogg) decode synchronously, with a decoder made ready before they start.
    await prepareOpus();

    const remote = config.forwardUrl
      ? new RemoteTranscriber({
          url: config.forwardUrl,
          token: config.forwardToken,
          model: config.forwardModel,
          timeoutMs: config.forwardTimeoutMs,
          retries: config.forwardRetries,
        })
      : null;
    const runner: TranscriptionRunner | null = remote ? (pool ? new ForwardingRunner(pool, remote) : remote) : pool;
    if (!runner) throw new ConfigError('no Whisper model to run and no FORWARD_URL to send audio to');
    const load = new LoadController({
      baseIntervalMs: config.partialIntervalMs,
      maxIntervalMs: config.maxPartialIntervalMs,
      capacity: config.poolSize,
    });
    // Remote finals get slots of their own (at most one per session runs at a time anyway), so a slow remote cannot
    // hold the workers that partials need.
    const scheduler = new TranscriptionScheduler(
      runner,
      {
        slots: config.poolSize,
        uploads: config.uploadConcurrency,
        ...(remote ? { remoteFinals: config.maxSessions } : {}),
      },
      [metrics, localWork(load, remote !== null)],
    );
    const loadTimer = setInterval(() => load.update(scheduler.takePartialOwners()), LOAD_UPDATE_MS);
    loadTimer.unref();
    stops.push(() => clearInterval(loadTimer));

    const settings: StreamSettings = {
      strategy: config.strategy,
      partials: pool !== null,
      partialIntervalMs: config.partialIntervalMs,
      endSilenceMs: config.endSilenceMs,
      maxSegmentMs: config.maxSegmentMs,
      maxUtteranceMs: config.maxUtteranceMs,
      threads: config.threadsPerTask,
      finalBeamSize: config.finalBeamSize,
      earlyFinals: config.earlyFinals,
      emulatedTokensPerSecond: config.emulateTokensPerS,
    };
    const memory = memoryReturn();
    stops.push(memory.stop);
    const shared = config.sessionStore ? await connectStore(config.sessionStore, config.resumeTtlMs, log) : null;
    if (shared) stops.push(() => shared.close());
    const registry = new SessionRegistry({
      store: shared ?? new MemorySessionStore(),
      shared,
      resumeTtlMs: config.resumeTtlMs,
      maxSessions: config.maxSessions,
      maxDetached: config.maxDetachedSessions,
      maxDetachedPerKey: config.maxDetachedPerPrincipal,
      newSession: (restore) => {
        const session = new StreamSession({
          scheduler,
          detector: vad.open(),
          languages,
          defaultLanguage,
          settings,
          partialIntervalMs: () => load.partialIntervalMs,
          restore,
        });
        // A restored session keeps the endpointing its client chose.
        if (!restore) session.setEndpointing(config.endSilenceMs);
        return session;
      },
      // Every worker serves at least one session in real time (partials coalesce), so the load refuses none below that.
      admitting: (live) => live < config.poolSize || load.admitting,
      released: memory.released,
      log,
      latency: (isFinal, ms) => metrics.latency(isFinal, ms),
      partialWork: (work) => metrics.partialWork(work.turnMs, work.workerMs),
      persisted: (ms) => metrics.persisted(ms),
    });
    stops.push(() => registry.closeAll());
    metrics.watch({
      sessions: () => registry.stats,
      totals: () => registry.totals,
      scheduler: () => scheduler.stats,
      load: () => load.snapshot,
      ...(shared ? { storeUp: () => shared.unavailable === null } : {}),
    });
    const authenticator = new Authenticator({
      apiKeyHashes: config.apiKeyHashes,
      jwtSecret: config.jwtSecret,
      jwtMaxLifetimeS: config.jwtMaxLifetimeS,
    });
    const uploads = new UploadGate(config.uploadConcurrency + config.uploadQueue, config.uploadsPerPrincipal);
    const files =
      (task: 'transcribe' | 'translate') => (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) =>
        handleTranscriptions(req, res, query, {
          scheduler,
          authenticator,
          languages,
          defaultLanguage,
          uploads,
          decoder,
          maxUploadBytes: config.maxUploadBytes,
          maxUploadSeconds: config.maxUploadSeconds,
          beamSize: config.finalBeamSize,
          threads: config.threadsPerTask,
          log,
          task,
          // FORWARD_URL's server is asked for transcriptions only.
          translationUnavailable: !languages.multilingual
            ? 'the loaded model is English-only; translating needs a multilingual model (e.g. tiny)'
            : remote
              ? 'uploads go to FORWARD_URL, which transcribes only; translations are not offered'
              : null,
        });
    const tokenRoutes = { authenticator, languages };
    router.ready({
      openAi: new Map([
        ['/v1/audio/transcriptions', files('transcribe')],
        ['/v1/audio/translations', files('translate')],
        ['/v1/realtime/client_secrets', (req, res, query) => handleClientSecret(req, res, query, tokenRoutes)],
        [
          '/v1/realtime/transcription_sessions',
          (req, res, query) => handleTranscriptionSession(req, res, query, tokenRoutes),
        ],
      ]),
      vendorApi: new Map([['/v3/token', (req, res, query) => handleAssemblyAiToken(req, res, query, tokenRoutes)]]),
      describe: () => ({
        // The file's name, not its path: /readyz answers anyone, so it discloses no paths, URLs or credentials.
        model:
          model && pool
            ? {
                file: basename(model.path),
                type: pool.model.modelType,
                multilingual: languages.multilingual,
                synthetic: model.synthetic,
              }
            : null,
        defaultLanguage,
        pool: pool ? { size: config.poolSize, threadsPerTask: config.threadsPerTask } : null,
        settings: { ...settings, partialIntervalMs: load.partialIntervalMs },
        load: shownLoad(load.snapshot),
        auth: authenticator.enabled,
        forwarding: remote !== null,
        // With SESSION_STORE: whether it answers (new /stream sessions are refused while it does not).
        sessionStore: shared ? (shared.unavailable === null ? 'up' : 'unavailable') : null,
        scheduler: scheduler.stats,
      }),
      stats: () => ({
        sessions: registry.stats,
        scheduler: scheduler.stats,
        load: shownLoad(load.snapshot),
        uploads: uploads.stats,
      }),
      // Not degraded while the session store is down: every protocol but /stream's new sessions works without it, and a
      // balancer that took every instance sharing the store out would stop them too. /readyz says so in its body.
      degraded: () => null,
    });
    listening.ready({
      registry,
      authenticator,
      adapterSettings: {
        ackIntervalMs: config.ackIntervalMs,
        languages,
        maxSessionMs: config.maxSessionMs,
        endSilenceMs: config.endSilenceMs,
      },
      limits: {
        maxControlPerS: config.maxControlPerS,
        maxFlushesPerS: config.maxFlushesPerS,
        maxErrorsPerS: config.maxErrorsPerS,
        maxBufferedBytes: config.maxBufferedBytes,
        maxAudioRate: config.maxAudioRate,
        audioBurstMs: config.audioBurstMs,
        // The most a resuming client may have to send again: what it captured while disconnected (at most the resume
        // window) and what the session had not kept before (acks lag by an interval; durable ones, by an utterance).
        resumeBurstMs: config.resumeTtlMs + config.maxUtteranceMs + config.ackIntervalMs,
        pingIntervalMs: config.pingIntervalMs,
        idleTimeoutMs: config.idleTimeoutMs,
        maxSessionMs: config.maxSessionMs,
        overloadPendingMs: config.overloadPendingMs,
      },
    });
    log.info('ready', {
      model: model ? basename(model.path) : null,
      multilingual: languages.multilingual,
      defaultLanguage,
      auth: authenticator.enabled,
    });
  } catch (error) {
    await close();
    throw error;
  }

  const scheme = tls ? 'https' : 'http';
  return {
    port: address.port,
    streamUrl: `${tls ? 'wss' : 'ws'}://${host}:${address.port}/stream`,
    httpUrl: `${scheme}://${host}:${address.port}`,
    model,
    unhandledRejection: () => metrics.unhandledRejection(),
    close,
  };
}
