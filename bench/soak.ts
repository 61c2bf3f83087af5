/**
 * Soak bench: a few streams for a long time against one server process, each a run of sessions that open and close,
 * recording the server's memory (by allocator), queue and the clients' latency every 10 s, to show whether memory
 * stays flat and latency does not drift.
 *
 *   node dist/bench/soak.js [--minutes 30] [--quick (2 minutes)] [--streams 2] [--session-s 120] [server flags]
 *
 * --session-s: each stream ends its session and opens a new one after about this much audio; 0 keeps one session
 * per stream for the whole run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../engine/index.js';
import { DRAIN_MS, STAGGER_MS, emptyResult, runClient, type ClientResult, type Sample } from './lib/latency-client.js';
import { benchArgs } from './lib/bench-args.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { metric, scrapeMetrics } from './lib/metrics-scrape.js';
import { startServer } from './lib/server-process.js';
import { buildTimeline, loadClips, type SpeechClip } from './lib/speech-timeline.js';
import { latencyStats } from './lib/stats.js';
import { lineChart } from './lib/svg-chart.js';

const SAMPLE_EVERY_MS = 10_000;
/** The first quarter of the run (at least a minute) is warm-up: allocator pools and JIT settle there. */
const WARMUP_SHARE = 0.25;
const MIN_WARMUP_S = 60;
const MiB = 2 ** 20;

interface Reading {
  /** Seconds since the streams started. */
  t: number;
  rssMiB: number;
  heapUsedMiB: number;
  /** Memory by who allocated it: V8's heap, ArrayBuffers and other memory V8 is told of, and glibc's malloc. */
  allocators: Record<Allocator, number>;
  queueDepth: number;
  sessions: number;
  /** The machine's 1-minute load average (the bench and the server share it, and others may too). */
  load1: number;
}

const ALLOCATORS = {
  'V8 heap (total)': 'nodejs_heap_size_total_bytes',
  'external (ArrayBuffers)': 'nodejs_external_memory_bytes',
  'malloc in use': 'process_malloc_bytes{kind="in_use"}',
  'malloc free in arenas': 'process_malloc_bytes{kind="free"}',
  'malloc mmapped blocks': 'process_malloc_bytes{kind="mmapped"}',
} as const;
type Allocator = keyof typeof ALLOCATORS;

interface Window {
  t: number;
  partialP95: number;
  finalP95: number;
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxy / sxx;
}

/** p95 of the latencies observed in each 10 s window. */
function windows(partials: Sample[], finals: Sample[], started: number, seconds: number): Window[] {
  const out: Window[] = [];
  const step = SAMPLE_EVERY_MS / 1000;
  for (let t = step; t <= seconds + step; t += step) {
    const inWindow = (s: Sample): boolean => s.at - started > (t - step) * 1000 && s.at - started <= t * 1000;
    out.push({
      t,
      partialP95: latencyStats(partials.filter(inWindow).map((s) => s.ms)).p95,
      finalP95: latencyStats(finals.filter(inWindow).map((s) => s.ms)).p95,
    });
  }
  return out;
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** One stream: sessions of about `sessionS` seconds of audio each (one session when 0), one after another. */
async function runStream(
  url: string,
  clips: SpeechClip[],
  index: number,
  streams: number,
  seconds: number,
  sessionS: number,
): Promise<ClientResult> {
  const until = performance.now() + seconds * 1000;
  const all = emptyResult();
  for (let session = 0; performance.now() < until; session++) {
    const left = (until - performance.now()) / 1000;
    const timeline = buildTimeline(clips, index + session * streams, sessionS > 0 ? Math.min(sessionS, left) : left);
    const result = await runClient(url, timeline, DRAIN_MS);
    all.partials.push(...result.partials);
    all.finals.push(...result.finals);
    all.speechEndFinals.push(...result.speechEndFinals);
    all.partialGaps.push(...result.partialGaps);
    all.finalIntervals.push(...result.finalIntervals);
    all.unmatchedFinals += result.unmatchedFinals;
    all.errors.push(...result.errors);
  }
  return all;
}

async function main(): Promise<void> {
  const { values, serverFlags } = benchArgs({
    minutes: { type: 'string', default: '30' },
    quick: { type: 'boolean', default: false },
    streams: { type: 'string', default: '2' },
    'session-s': { type: 'string', default: '120' },
  });
  const seconds = values.quick ? 120 : Number(values.minutes) * 60;
  const streams = Number(values.streams);
  const sessionS = Number(values['session-s']);
  const clips = await loadClips();
  const machine = machineInfo();
  const loadAtStart = loadavg().map((n) => round(n, 2));
  console.error(
    `machine: ${describeMachine(machine)}; ${streams} stream(s) for ${seconds} s; load average ` +
      `${loadAtStart.join(' ')}`,
  );

  const { child, port } = await startServer(serverFlags);
  const http = `http://127.0.0.1:${port}`;
  const readings: Reading[] = [];
  let started = 0;
  let results: ClientResult[];
  try {
    started = performance.now();
    let sampling = Promise.resolve();
    const sampler = setInterval(() => {
      sampling = sampling.then(async () => {
        const s = await scrapeMetrics(http);
        const allocators = Object.fromEntries(
          Object.entries(ALLOCATORS).map(([name, series]) => [name, round(metric(s, series) / MiB, 2)]),
        ) as Record<Allocator, number>;
        const reading: Reading = {
          t: round((performance.now() - started) / 1000, 1),
          rssMiB: round(metric(s, 'process_resident_memory_bytes') / MiB, 2),
          heapUsedMiB: round(metric(s, 'nodejs_heap_size_used_bytes') / MiB, 2),
          allocators,
          queueDepth: metric(s, 'stt_queue_depth{kind="final"}') + metric(s, 'stt_queue_depth{kind="partial"}'),
          sessions: metric(s, 'stt_sessions_active{state="attached"}'),
          load1: round(loadavg()[0] ?? 0, 2),
        };
        readings.push(reading);
        const native =
          `malloc ${allocators['malloc in use']}+${allocators['malloc free in arenas']} ` +
          `free+${allocators['malloc mmapped blocks']} mmapped`;
        console.error(
          `t=${reading.t}s rss ${reading.rssMiB} MiB heap ${reading.heapUsedMiB} MiB ${native} queue ` +
            `${reading.queueDepth} load ${reading.load1}`,
        );
      });
    }, SAMPLE_EVERY_MS);
    results = await Promise.all(
      Array.from({ length: streams }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, i * STAGGER_MS));
        return runStream(`ws://127.0.0.1:${port}/stream`, clips, i, streams, seconds, sessionS);
      }),
    );
    clearInterval(sampler);
    await sampling;
  } finally {
    child.kill('SIGTERM');
  }

  const partials = results.flatMap((r) => r.partials);
  const finals = results.flatMap((r) => r.finals);
  const errors = results.flatMap((r) => r.errors);
  const warmup = Math.max(MIN_WARMUP_S, seconds * WARMUP_SHARE);
  // Until the streams end: the drain after them is no steady state.
  const streamsEnded = seconds + 5;
  const steady = readings.filter((r) => r.t >= warmup && r.t <= streamsEnded);
  const perTenMinutes = (pick: (r: Reading) => number): number =>
    round(slope(steady.map((r) => [r.t, pick(r)])) * 600, 3);
  const rssSlope = perTenMinutes((r) => r.rssMiB);
  const heapSlope = perTenMinutes((r) => r.heapUsedMiB);
  const growth = (Object.keys(ALLOCATORS) as Allocator[])
    .map((name) => ({ name, slope: perTenMinutes((r) => r.allocators[name]) }))
    .sort((a, b) => b.slope - a.slope);
  const loads = readings.map((r) => r.load1);
  const load = {
    atStart: loadAtStart,
    mean: round(loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length), 2),
    max: Math.max(...loads),
  };
  // Drift: latency in the first and last third of the steady part.
  const steadyFrom = started + warmup * 1000;
  const third = ((seconds - warmup) * 1000) / 3;
  const during = (samples: Sample[], from: number, to: number): number[] =>
    samples.filter((s) => s.at >= from && s.at < to).map((s) => s.ms);
  const drift = {
    partialP95: [
      latencyStats(during(partials, steadyFrom, steadyFrom + third)).p95,
      latencyStats(during(partials, steadyFrom + 2 * third, steadyFrom + 3 * third)).p95,
    ],
    finalP95: [
      latencyStats(during(finals, steadyFrom, steadyFrom + third)).p95,
      latencyStats(during(finals, steadyFrom + 2 * third, steadyFrom + 3 * third)).p95,
    ],
  };
  const latency = windows(partials, finals, started, seconds);

  const command = `node dist/bench/soak.js ${process.argv.slice(2).join(' ')}`.trim();
  const partial = latencyStats(partials.map((s) => s.ms));
  const final = latencyStats(finals.map((s) => s.ms));
  const report = [
    `machine: ${describeMachine(machine)}`,
    `streams: ${streams} for ${seconds} s, ` +
      `${sessionS > 0 ? `a new session every ~${sessionS} s` : 'one session each'}, clips ` +
      `${clips.map((c) => c.name).join(', ')} in turn with 0.6-2.5 s pauses`,
    `command: ${command}`,
    `machine load (1-minute average): ${load.atStart.join(' / ')} (1/5/15 min) at the start; mean ${load.mean}, ` +
      `max ${load.max} during the run`,
    '',
    `partial p50 / p95 / p99: ${partial.p50} / ${partial.p95} / ${partial.p99} ms (n ${partial.count}); final: ` +
      `${final.p50} / ${final.p95} / ${final.p99} ms (n ${final.count})`,
    `RSS: ${readings[0]?.rssMiB} MiB at ${readings[0]?.t} s, ${steady[0]?.rssMiB} MiB after warm-up ` +
      `(${warmup} s), ${readings.at(-1)?.rssMiB} MiB at the end; max ${Math.max(...readings.map((r) => r.rssMiB))} MiB`,
    `slope after warm-up: RSS ${rssSlope} MiB per 10 min, heap used ${heapSlope} MiB per 10 min`,
    `growth by allocator (MiB per 10 min, largest first): ${growth.map((g) => `${g.name} ${g.slope}`).join(', ')}`,
    `latency drift (first vs last third after warm-up): partial p95 ${drift.partialP95[0]} -> ` +
      `${drift.partialP95[1]} ms, final p95 ${drift.finalP95[0]} -> ${drift.finalP95[1]} ms`,
    `max queue depth: ${Math.max(...readings.map((r) => r.queueDepth))}; errors: ` +
      `${errors.length}${errors.length ? ` (${[...new Set(errors)].slice(0, 3).join('; ')})` : ''}`,
  ];
  console.log(report.join('\n'));

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = join(projectRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `soak-${stamp}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        command,
        machine,
        load,
        streams,
        seconds,
        sessionS,
        warmup,
        rssSlope,
        heapSlope,
        growth,
        drift,
        partial,
        final,
        errors,
        readings,
        latency,
      },
      null,
      2,
    ),
  );
  // Quick checks keep their charts with their results; only a full run replaces the ones in docs/.
  const chartDir = values.quick ? dir : join(projectRoot, 'docs');
  const memory = join(chartDir, values.quick ? `soak-memory-${stamp}.svg` : 'soak-memory.svg');
  writeFileSync(
    memory,
    lineChart({
      title: `Server memory over a ${round(seconds / 60, 1)}-minute soak, ${streams} streams`,
      xLabel: 'minutes',
      yLabel: 'MiB',
      series: [
        { label: 'RSS', points: readings.map((r) => [r.t / 60, r.rssMiB]) },
        { label: 'heap used', points: readings.map((r) => [r.t / 60, r.heapUsedMiB]) },
      ],
    }),
  );
  const latencyChart = join(chartDir, values.quick ? `soak-latency-${stamp}.svg` : 'soak-latency.svg');
  const present = (pick: (w: Window) => number): [number, number][] =>
    latency.filter((w) => Number.isFinite(pick(w))).map((w) => [w.t / 60, pick(w)]);
  writeFileSync(
    latencyChart,
    lineChart({
      title: 'Latency p95 per 10 s window over the soak',
      xLabel: 'minutes',
      yLabel: 'ms',
      series: [
        { label: 'partial p95', points: present((w) => w.partialP95) },
        { label: 'final p95', points: present((w) => w.finalP95) },
      ],
    }),
  );
  console.log(`\nraw results: ${file}\ncharts: ${memory}, ${latencyChart}`);
}

await main();
