/**
 * Watches a server under attack from a worker thread: /healthz round trips (event-loop lag as a client sees it) and
 * the process's VmRSS, and kills the server outright when its RSS passes a ceiling so an attack cannot take the
 * machine down with it. A worker, because the attack itself keeps the bench's main thread busy: probing from there
 * would time the bench's own event loop as much as the server's.
 */
import { readFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { quantile } from './stats.js';

/** Milliseconds since the epoch with sub-millisecond resolution; the same clock in every thread. */
export const clock = (): number => performance.timeOrigin + performance.now();

export interface Probe {
  /** clock() when the request was sent. */
  at: number;
  ms: number;
  ok: boolean;
  /** Still unanswered when the snapshot was taken: `ms` is how long it has waited so far. */
  pending?: boolean;
}

export interface RssSample {
  at: number;
  bytes: number;
}

export interface MonitorData {
  healthz: Probe[];
  rss: RssSample[];
  /** Set when the monitor killed the server for passing the RSS ceiling. */
  killed: RssSample | null;
}

export interface LagStats {
  n: number;
  /** Probes answered with an error or not at all (the server gone); a probe still waiting is not one. */
  failed: number;
  p50: number;
  p99: number;
  max: number;
}

export interface RssStats {
  startMb: number;
  peakMb: number;
  endMb: number;
}

interface MonitorConfig {
  role: 'attack-monitor';
  pid: number;
  port: number;
  rssCapBytes: number;
}

const PROBE_GAP_MS = 50;
const RSS_EVERY_MS = 100;
/** A /healthz that takes longer than this is recorded as a failure at this duration. */
const PROBE_TIMEOUT_MS = 60_000;
const MB = 1024 * 1024;

/** VmRSS of a process in bytes; undefined once it is gone. */
export function readRss(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The monitor, running on its server until terminated. */
export class Monitor {
  private constructor(private readonly worker: Worker) {}

  static start(pid: number, port: number, rssCapBytes: number): Monitor {
    const config: MonitorConfig = { role: 'attack-monitor', pid, port, rssCapBytes };
    const worker = new Worker(new URL(import.meta.url), { workerData: config });
    worker.unref();
    return new Monitor(worker);
  }

  /** Everything recorded so far, with any /healthz still in flight as a pending probe. */
  snapshot(): Promise<MonitorData> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.worker.once('error', onError);
      this.worker.once('message', (data: MonitorData) => {
        this.worker.off('error', onError);
        resolve(data);
      });
      this.worker.postMessage('snapshot');
    });
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

/** /healthz round trips that overlap [from, to] (a probe sent before a freeze and answered after it counts). */
export function lagIn(data: MonitorData, from: number, to: number): LagStats {
  const probes = data.healthz.filter((p) => p.at <= to && p.at + p.ms >= from);
  const times = probes.map((p) => p.ms);
  const round = (q: number): number => (times.length === 0 ? Number.NaN : Math.round(quantile(times, q) * 10) / 10);
  return {
    n: probes.length,
    failed: probes.filter((p) => !p.ok && !p.pending).length,
    p50: round(0.5),
    p99: round(0.99),
    max: round(1),
  };
}

/** RSS at the start of [from, to], its peak, and its last value in it (MB). */
export function rssIn(data: MonitorData, from: number, to: number): RssStats {
  const inside = data.rss.filter((s) => s.at >= from && s.at <= to);
  const before = data.rss.filter((s) => s.at < from).at(-1);
  const first = before ?? inside[0];
  const all = first ? [first, ...inside] : inside;
  const mb = (bytes: number | undefined): number => (bytes === undefined ? Number.NaN : Math.round(bytes / MB));
  return {
    startMb: mb(first?.bytes),
    peakMb: mb(all.length === 0 ? undefined : Math.max(...all.map((s) => s.bytes))),
    endMb: mb(all.at(-1)?.bytes),
  };
}

function isMonitorConfig(value: unknown): value is MonitorConfig {
  return typeof value === 'object' && value !== null && (value as { role?: unknown }).role === 'attack-monitor';
}

/** The worker's side: probes until the main thread terminates it. */
function runMonitor(config: MonitorConfig): void {
  const port = parentPort;
  if (!port) return;
  const data: MonitorData = { healthz: [], rss: [], killed: null };
  let inFlight: number | null = null;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  const probe = (): void => {
    const at = clock();
    inFlight = at;
    const done = (ok: boolean): void => {
      if (inFlight !== at) return;
      inFlight = null;
      data.healthz.push({ at, ms: clock() - at, ok });
      setTimeout(probe, PROBE_GAP_MS);
    };
    const request = get(
      { host: '127.0.0.1', port: config.port, path: '/healthz', agent, timeout: PROBE_TIMEOUT_MS },
      (response) => {
        response.resume();
        response.on('end', () => done(response.statusCode === 200));
        response.on('error', () => done(false));
      },
    );
    request.on('timeout', () => request.destroy());
    request.on('error', () => done(false));
  };
  probe();

  const rssTimer = setInterval(() => {
    const bytes = readRss(config.pid);
    if (bytes === undefined) {
      clearInterval(rssTimer);
      return;
    }
    const sample = { at: clock(), bytes };
    data.rss.push(sample);
    if (bytes > config.rssCapBytes && !data.killed) {
      data.killed = sample;
      try {
        process.kill(config.pid, 'SIGKILL');
      } catch {
        // it exited on its own in the meantime
      }
    }
  }, RSS_EVERY_MS);

  port.on('message', () => {
    const pending = inFlight === null ? [] : [{ at: inFlight, ms: clock() - inFlight, ok: false, pending: true }];
    port.postMessage({ ...data, healthz: [...data.healthz, ...pending] } satisfies MonitorData);
  });
}

const config: unknown = isMainThread ? undefined : workerData;
if (isMonitorConfig(config)) runMonitor(config);
