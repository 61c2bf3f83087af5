/**
 * Downloads an official model file into models/, verified against the size
 * and sha256 in the catalog. The transfer goes to <file>.part and is renamed
 * into place only after it verifies, so a file under its final name is
 * always a good one; an interrupted transfer resumes with an HTTP Range
 * request on the next run.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { modelsDir } from '../paths.js';
import { MODEL_FILES, findModelFile, modelUrl, type ModelFile } from './catalog.js';
import { DownloadProgress, type ProgressStream } from './progress.js';
import { writeAll } from './write-all.js';

/** A failure the user can act on; its message is complete and needs no stack trace. */
export class ModelFetchError extends Error {
  override name = 'ModelFetchError';
}

export interface FetchModelOptions {
  /** Destination folder; default models/ in the project. */
  outDir?: string;
  /** Mirror to download from, file name appended; default $MODEL_BASE_URL, else the model's official home. */
  baseUrl?: string;
  /** Where progress goes; default stderr, null for none. */
  progress?: ProgressStream | null;
  /** Receives one-line notes (skipped, resuming, replacing). */
  log?: (line: string) => void;
  /** Give up when no data arrives for this long; default 30 s. */
  idleTimeoutMs?: number;
}

export type FetchOutcome = 'downloaded' | 'resumed' | 'skipped';

export interface FetchResult {
  model: ModelFile;
  path: string;
  url: string;
  outcome: FetchOutcome;
}

export async function fetchModel(name: string, options: FetchModelOptions = {}): Promise<FetchResult> {
  const model = findModelFile(name);
  if (!model) {
    throw new ModelFetchError(`Unknown model "${name}". Known: ${MODEL_FILES.map((m) => m.name).join(', ')}.`);
  }
  const outDir = options.outDir ?? modelsDir;
  const path = join(outDir, model.file);
  const partPath = `${path}.part`;
  const url = modelUrl(model, options.baseUrl ?? process.env['MODEL_BASE_URL']);
  const log = options.log ?? ((): void => undefined);
  const result = (outcome: FetchOutcome): FetchResult => ({ model, path, url, outcome });

  const present = await fileSize(path);
  if (present !== undefined) {
    if (present === model.bytes && (await sha256OfFile(path)) === model.sha256) {
      log(`${model.file}: already present and verified, skipped`);
      return result('skipped');
    }
    const problem =
      present === model.bytes ? 'its sha256 does not match' : `it is ${present} bytes, expected ${model.bytes}`;
    log(`${model.file}: present but ${problem}; downloading a fresh copy, which replaces it only once verified`);
  }
  await mkdir(outDir, { recursive: true });

  let partBytes = (await fileSize(partPath)) ?? 0;
  if (partBytes > model.bytes) {
    await rm(partPath);
    partBytes = 0;
  }
  if (partBytes === model.bytes) {
    if ((await sha256OfFile(partPath)) === model.sha256) {
      await rename(partPath, path);
      log(`${model.file}: completed from an earlier partial download`);
      return result('resumed');
    }
    await rm(partPath);
    partBytes = 0;
  }
  if (partBytes > 0) log(`${model.file}: resuming partial download at ${partBytes} of ${model.bytes} bytes`);

  const resumed = await transfer({ model, url, path, partPath, startAt: partBytes, options });
  await rename(partPath, path);
  return result(resumed ? 'resumed' : 'downloaded');
}

interface Transfer {
  model: ModelFile;
  url: string;
  path: string;
  partPath: string;
  startAt: number;
  options: FetchModelOptions;
}

/** Completes and verifies the .part file; true when it continued earlier bytes. */
async function transfer(job: Transfer): Promise<boolean> {
  const { model, url, partPath, options } = job;
  let startAt = job.startAt;
  const controller = new AbortController();
  const idleMs = options.idleTimeoutMs ?? 30_000;
  let idleTimer: NodeJS.Timeout | undefined;
  const armIdleTimer = (): void => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => controller.abort(new Error(`no data for ${idleMs / 1000} s`)), idleMs);
  };

  try {
    armIdleTimer();
    let response: Response;
    try {
      response = await fetch(url, {
        signal: controller.signal,
        headers: {
          // A compressed body would not line up with byte ranges or the expected length.
          'accept-encoding': 'identity',
          ...(startAt > 0 ? { range: `bytes=${startAt}-` } : {}),
        },
      });
    } catch (err) {
      throw failure(
        job,
        `${describeNetworkError(err, controller.signal)}; the host is unreachable or this machine is offline`,
      );
    }

    if (startAt > 0 && response.status === 206) {
      const rangeStart = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1];
      if (rangeStart === undefined || Number(rangeStart) !== startAt) {
        await response.body?.cancel();
        throw failure(
          job,
          `the server answered the range request for bytes ${startAt}- with "${response.headers.get('content-range')}"`,
        );
      }
    } else if (startAt > 0 && response.status === 416) {
      // The server's file is no longer than our partial one, so the partial one is not a prefix of it.
      await response.body?.cancel();
      await rm(partPath, { force: true });
      clearTimeout(idleTimer);
      return transfer({ ...job, startAt: 0 });
    } else if (response.status !== 200) {
      await response.body?.cancel();
      throw failure(job, `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
    } else if (startAt > 0) {
      options.log?.(`${model.file}: the server ignored the range request; starting over`);
      startAt = 0;
    }

    const expectedBody = model.bytes - startAt;
    const declared = response.headers.get('content-length');
    if (declared !== null && Number(declared) !== expectedBody) {
      await response.body?.cancel();
      throw failure(
        job,
        `the server is sending ${declared} bytes where ${expectedBody} were expected, so it holds a different file`,
      );
    }
    if (!response.body) throw failure(job, 'the response has no body');

    const hash = createHash('sha256');
    if (startAt > 0) await hashFileInto(partPath, hash);
    const progressStream = options.progress === undefined ? process.stderr : options.progress;
    const progress = progressStream ? new DownloadProgress(model.file, model.bytes, progressStream) : undefined;
    progress?.start(startAt);

    let received = startAt;
    const fh = await open(partPath, startAt > 0 ? 'a' : 'w');
    try {
      for await (const chunk of response.body) {
        armIdleTimer();
        if (received + chunk.length > model.bytes) {
          controller.abort();
          await fh.close();
          await rm(partPath, { force: true });
          throw failure(
            job,
            `the server sent more than the expected ${model.bytes} bytes, so it holds a different file; the ` +
              'download was deleted',
          );
        }
        hash.update(chunk);
        await writeAll(fh, chunk);
        received += chunk.length;
        progress?.update(received);
      }
    } catch (err) {
      progress?.finish(false);
      if (err instanceof ModelFetchError) throw err;
      throw failure(
        job,
        `the transfer stopped after ${received} of ${model.bytes} bytes ` +
          `(${describeNetworkError(err, controller.signal)}); ` +
          `the partial download is kept at ${partPath} and the next run resumes it`,
      );
    } finally {
      await fh.close().catch(() => undefined);
    }

    if (received < model.bytes) {
      progress?.finish(false);
      throw failure(
        job,
        `the server ended the transfer after ${received} of ${model.bytes} bytes; ` +
          `the partial download is kept at ${partPath} and the next run resumes it`,
      );
    }
    progress?.finish(true);
    const digest = hash.digest('hex');
    if (digest !== model.sha256) {
      await rm(partPath, { force: true });
      throw failure(
        job,
        `the downloaded file's sha256 is ${digest}, expected ${model.sha256} (checksum mismatch); the bad ` +
          'download was deleted',
      );
    }
    return job.startAt > 0 && startAt > 0;
  } finally {
    clearTimeout(idleTimer);
  }
}

function failure(job: Transfer, reason: string): ModelFetchError {
  const { model, url, path } = job;
  return new ModelFetchError(
    `Cannot download ${model.file} from ${url}: ${reason}.\n` +
      `To install it by hand, download it by other means (another machine, or a mirror via MODEL_BASE_URL) ` +
      `and place it at\n  ${path}\n` +
      `expected size ${model.bytes.toLocaleString('en-US')} bytes, sha256 ${model.sha256}`,
  );
}

const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
};

/** undici reports "fetch failed" and hides the reason in `cause` (an AggregateError when every address failed). */
function describeNetworkError(err: unknown, signal: AbortSignal): string {
  if (signal.aborted && signal.reason instanceof Error) return signal.reason.message;
  let cause: unknown = err instanceof Error && err.cause !== undefined ? err.cause : err;
  if (cause instanceof AggregateError && cause.errors.length > 0 && !hasCode(cause)) cause = cause.errors[0];
  const code = hasCode(cause) ? cause.code : undefined;
  if (code !== undefined)
    return `${NETWORK_ERRORS[code] ?? (cause instanceof Error ? cause.message : 'network error')} (${code})`;
  return cause instanceof Error && cause.message ? cause.message : String(cause);
}

function hasCode(value: unknown): value is { code: string } {
  return typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string';
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if (hasCode(err) && err.code === 'ENOENT') return undefined;
    throw err;
  }
}

async function hashFileInto(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await hashFileInto(path, hash);
  return hash.digest('hex');
}
