/**
 * What an attack row is and how it is judged: the row contract, the held / degraded / broke verdicts with the
 * thresholds they share (event-loop lag, memory growth), and the formatting of figures for the table.
 */
import { lagIn, rssIn, type LagStats, type MonitorData, type RssStats } from './attack-monitor.js';
import type { Launch, ServerUnderTest } from './attack-server.js';
import type { VictimResult } from './attack-victim.js';

export type Verdict = 'held' | 'degraded' | 'broke';

/** One thing a row checked, with its own verdict. */
export interface Check {
  verdict: Verdict;
  note: string;
}

export interface RowOutcome {
  verdict: Verdict;
  /** Why: the notes of the checks that did not hold, else of all of them. */
  reason: string;
  /** The measured figures, one line for the table. */
  summary: string;
  /** The same figures, structured, for --json. */
  figures: Record<string, unknown>;
}

export interface RowContext {
  /** Smaller volumes and shorter floods (--quick). */
  quick: boolean;
  /** Detached sessions for row 9 (--sessions). */
  sessions: number;
  /** Aborted when the row's time is up: every loop of an attack checks it. */
  signal: AbortSignal;
  /** The victim stream alone on a fresh server, when a selected row needs it for comparison. */
  baseline: VictimResult | null;
  /** Starts a server with these settings; the row's servers are killed when it ends. */
  startServer(env?: Record<string, string>): Promise<ServerUnderTest>;
  /** Starts a server that may refuse to start. */
  launch(env: Record<string, string>): Promise<Launch>;
  /** Runs when the row ends, however it ends. */
  onCleanup(cleanup: () => void | Promise<void>): void;
}

export interface Scenario {
  row: number;
  title: string;
  /** Hard limit on the whole row; past it the row is broke and its servers are killed. */
  limitS: number;
  /** Whether its verdict compares the victim's latency with the victim alone (RowContext.baseline). */
  needsBaseline: boolean;
  run(ctx: RowContext): Promise<RowOutcome>;
}

const RANK: Record<Verdict, number> = { held: 0, degraded: 1, broke: 2 };

export const held = (note: string): Check => ({ verdict: 'held', note });
export const degraded = (note: string): Check => ({ verdict: 'degraded', note });
export const broke = (note: string): Check => ({ verdict: 'broke', note });

function worst(checks: readonly Check[]): Verdict {
  return checks.reduce<Verdict>((w, c) => (RANK[c.verdict] > RANK[w] ? c.verdict : w), 'held');
}

export function outcome(checks: readonly Check[], summary: string, figures: Record<string, unknown>): RowOutcome {
  const verdict = worst(checks);
  const shown = verdict === 'held' ? checks : checks.filter((c) => c.verdict !== 'held');
  return { verdict, reason: shown.map((c) => c.note).join('; '), summary, figures };
}

/** A row that could not be checked at all. */
export function unchecked(why: string): RowOutcome {
  return { verdict: 'broke', reason: `could not be checked: ${why}`, summary: '', figures: {} };
}

/**
 * Event-loop lag as /healthz round trips show it. Held: p99 within 100 ms and max within 300 ms (on 2 shared
 * cores the server's main thread competes with inference threads, so a few tens of ms is normal); degraded: max
 * within 2 s; beyond, the server froze.
 */
const LAG = { heldP99Ms: 100, heldMaxMs: 300, degradedMaxMs: 2000 } as const;

export function judgeLag(lag: LagStats): Check {
  const failed = lag.failed > 0 ? `, ${lag.failed} probe(s) failed` : '';
  const text = `/healthz p99 ${fmt(lag.p99)} ms, max ${fmt(lag.max)} ms${failed}`;
  if (lag.n === 0) return broke('no /healthz answer during the attack');
  if (lag.max > LAG.degradedMaxMs) return broke(`event loop froze (${text})`);
  // A failed probe is a refused or reset health check: the server is struggling even when the others were quick.
  if (lag.p99 <= LAG.heldP99Ms && lag.max <= LAG.heldMaxMs && lag.failed === 0)
    return held(`event loop responsive (${text})`);
  return degraded(`event loop slowed (${text})`);
}

/** RSS growth from the start of the attack to its peak, against what the row allows. */
export function judgeGrowth(rss: RssStats, heldMb: number, degradedMb: number): Check {
  const growth = rss.peakMb - rss.startMb;
  const text = `RSS +${fmt(growth)} MB (${fmt(rss.startMb)} → peak ${fmt(rss.peakMb)} MB)`;
  if (!Number.isFinite(growth)) return broke('no RSS samples');
  if (growth <= heldMb) return held(text);
  if (growth <= degradedMb) return degraded(text);
  return broke(text);
}

/** The server is still there and answering, and was not killed for its memory. */
export async function judgeAlive(server: ServerUnderTest, data: MonitorData): Promise<Check> {
  if (data.killed)
    return broke(
      `server killed by the bench at RSS ${Math.round(data.killed.bytes / 2 ** 20)} MB (ceiling, --rss-cap-mb)`,
    );
  const exit = server.exit;
  if (exit) {
    const last = server.outputTail().split('\n').at(-1) ?? '';
    return broke(
      `server died (${exit.signal ?? `exit ${exit.code}`})${last ? `; its last output: ${last.slice(0, 200)}` : ''}`,
    );
  }
  try {
    const response = await fetch(`${server.http}/healthz`, { signal: AbortSignal.timeout(5000) });
    await response.arrayBuffer();
    return response.status === 200
      ? held('server alive')
      : broke(`/healthz answered ${response.status} after the attack`);
  } catch (error) {
    return broke(`/healthz did not answer after the attack (${(error as Error).message})`);
  }
}

/** Lag and RSS of [from, to] on `server`, in one call. */
export async function measure(
  server: ServerUnderTest,
  from: number,
  to: number,
): Promise<{ data: MonitorData; lag: LagStats; rss: RssStats }> {
  const data = await server.monitor.snapshot();
  return { data, lag: lagIn(data, from, to), rss: rssIn(data, from, to) };
}

export const fmt = (n: number): string => (Number.isFinite(n) ? String(Math.round(n)) : '–');

export function lagText(lag: LagStats): string {
  return `/healthz p99 ${fmt(lag.p99)} max ${fmt(lag.max)} ms`;
}

export function rssText(rss: RssStats): string {
  return `RSS ${fmt(rss.startMb)}→${fmt(rss.endMb)} MB (peak ${fmt(rss.peakMb)})`;
}

/** "200×3 429×17" from a list of statuses. */
export function statusCounts(statuses: readonly (number | string)[]): string {
  const counts = new Map<string, number>();
  for (const status of statuses) counts.set(String(status), (counts.get(String(status)) ?? 0) + 1);
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status}×${n}`)
    .join(' ');
}

export const sleepUnlessAborted = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
