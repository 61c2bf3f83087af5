/**
 * Capacity bench: ramps the number of concurrent real-time streams against a fresh server process per step, for our
 * strategy and for the naive baseline, and reports latency, cadence, how often finals come during continuous speech,
 * worker time per audio second by kind (partial, final, aborted), partial runs per partial delivered, per-partial
 * worker time by turn length and resource use per step, plus the capacity: the largest stream count with partial
 * p95 < 500 ms, final p95 < 2 s (from the end of each final's audio), a transcript at least once a second of ongoing
 * speech (gap p50 <= 1 s, p95 <= 2 s) and no errors. The synthetic model decodes as many tokens as a real one would
 * (the reference transcripts' rate) unless --decode model says to let it decide.
 *
 *   node dist/bench/load.js [--streams 1,2,4,6,8,10,12] [--seconds 60] [--baseline-streams 1,2,4]
 *                           [--files a.wav,b.wav (from fixtures/speech; default: every WAV there)]
 *                           [--corpus mixed|continuous (see bench/lib/speech-timeline.ts)]
 *                           [--decode emulated|model] [--name load (names the JSON and docs/NAME-latency.svg)]
 *                           [server flags, e.g. --threads 1]
 *
 * With --urls ws://a:8081/stream,ws://b:8082/stream (instances sharing a session store, or one load balancer's URL)
 * it starts no server: the streams go to the URLs in turn, and each instance's /metrics (--instances http://a:8081,...,
 * by default the URLs' own) says how many streams it took and how long its session-store writes took. No baseline
 * runs then, and server flags do not apply.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { projectRoot } from '../engine/index.js';
import type { StreamStrategy } from '../engine/pipeline/index.js';
import { DRAIN_MS, STAGGER_MS, runClient, type ClientResult } from './lib/latency-client.js';
import { benchArgs } from './lib/bench-args.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { histogramQuantile } from './lib/histogram-quantile.js';
import { metric, scrapeMetrics, type Scrape } from './lib/metrics-scrape.js';
import { startServer } from './lib/server-process.js';
import { realTokenRate } from './lib/decode-emulation.js';
import { buildTimeline, loadClips, type Corpus, type SpeechClip } from './lib/speech-timeline.js';
import { latencyStats, type LatencyStats } from './lib/stats.js';
import { lineChart } from './lib/svg-chart.js';

const PARTIAL_P95_LIMIT_MS = 500;
const FINAL_P95_LIMIT_MS = 2000;
const GAP_P50_LIMIT_MS = 1000;
const GAP_P95_LIMIT_MS = 2000;
const TURN_BUCKETS = ['0-3s', '3-6s', '6-10s', '10-15s', '15s+'];
const SAMPLE_EVERY_MS = 2000;
/** /healthz probe rate: enough to see stalls, too little to load the machine itself. */
const HEALTH_RATE = 20;
const MiB = 2 ** 20;

interface StepResult {
  strategy: StreamStrategy;
  streams: number;
  partial: LatencyStats;
  /** Every final, from the end of its audio. */
  final: LatencyStats;
  /** Finals that end a turn, from the end of the speech in them. */
  speechEndFinal: LatencyStats;
  /** Time without a new transcript during ongoing speech (see ClientResult.partialGaps). */
  gap: LatencyStats;
  /** Audio between consecutive finals of a turn (see ClientResult.finalIntervals). */
  finalInterval: LatencyStats;
  /** Worker time of one partial by turn length so far: mean ms and count. */
  partialWorker: Record<string, { meanMs: number; count: number }>;
  /** Worker seconds per second of audio received: partials and finals that ran to the end, and aborted work. */
  workerPerAudioSecond: { partial: number; final: number; aborted: number };
  /** Partials run (to the end or not) per partial a client received. */
  partialRunsPerDelivered: number;
  /** Partial interval the server had widened to by the end of the step. */
  partialIntervalMs: number;
  /** Partials each stream received per second of its stream. */
  partialsPerStreamSecond: number;
  /** Server process CPU time per wall second, 1.0 = one core. */
  cpuCores: number;
  rssPerStreamMiB: number;
  peakRssMiB: number;
  peakQueueDepth: number;
  eventLoopLagP99Ms: number;
  eventLoopLagMaxMs: number;
  healthz: { p50Ms: number; p99Ms: number; maxMs: number; requests: number; failures: number };
  errors: string[];
  unmatchedFinals: number;
  /** Partial p95 < 500 ms, final p95 < 2 s, gap p50 <= 1 s and p95 <= 2 s, no errors. */
  meetsRequirement: boolean;
  /** Sessions each instance started during the step. */
  perInstance: number[];
  /** Checkpoint writes to the shared session store (each transcript waits for one); null without a store. */
  storeWrite: { p50Ms: number; p95Ms: number; count: number } | null;
}

/** Where a step's streams go, and the /metrics of the server processes behind. */
interface Target {
  streamUrls: string[];
  httpUrls: string[];
  stop(): void;
}

/** A fresh local server for the step (the default). */
async function localTarget(strategy: StreamStrategy, flags: string[]): Promise<Target> {
  const { child, port } = await startServer(['--strategy', strategy, ...flags]);
  return {
    streamUrls: [`ws://127.0.0.1:${port}/stream`],
    httpUrls: [`http://127.0.0.1:${port}`],
    stop: () => child.kill('SIGTERM'),
  };
}

const sum = (scrapes: Scrape[], series: string): number => scrapes.reduce((n, s) => n + metric(s, series), 0);
/** Counters and histograms over the step only: servers that ran before it (--urls) have counted earlier steps. */
const since = (end: Scrape[], idle: Scrape[]): Scrape[] =>
  end.map((s, i) => new Map([...s].map(([series, value]) => [series, value - metric(idle[i] as Scrape, series)])));
const scrapeAll = (urls: string[]): Promise<Scrape[]> => Promise.all(urls.map((url) => scrapeMetrics(url)));

const workerSeconds = (s: Scrape[], kind: string, ends: string[]): number =>
  ends.reduce((n, end) => n + sum(s, `stt_worker_seconds_total{kind="${kind}",end="${end}"}`), 0);

async function step(
  strategy: StreamStrategy,
  streams: number,
  seconds: number,
  clips: SpeechClip[],
  corpus: Corpus,
  target: Target,
): Promise<StepResult> {
  const http = target.httpUrls;
  try {
    const idle = await scrapeAll(http);
    const idleRss = sum(idle, 'process_resident_memory_bytes');
    const timelines = Array.from({ length: streams }, (_, i) => buildTimeline(clips, i, seconds, corpus));
    let peakRss = idleRss;
    let peakQueue = 0;
    let sampling = Promise.resolve();
    const sampler = setInterval(() => {
      sampling = sampling.then(async () => {
        const s = await scrapeAll(http);
        peakRss = Math.max(peakRss, sum(s, 'process_resident_memory_bytes'));
        peakQueue = Math.max(
          peakQueue,
          sum(s, 'stt_queue_depth{kind="final"}') + sum(s, 'stt_queue_depth{kind="partial"}'),
        );
      });
    }, SAMPLE_EVERY_MS);
    const health = autocannon({
      url: `${http[0]}/healthz`,
      connections: 1,
      overallRate: HEALTH_RATE,
      duration: seconds,
    });
    const started = performance.now();
    const runs: ClientResult[] = await Promise.all(
      timelines.map(async (timeline, i) => {
        await new Promise((resolve) => setTimeout(resolve, i * STAGGER_MS));
        return runClient(target.streamUrls[i % target.streamUrls.length] as string, timeline, DRAIN_MS);
      }),
    );
    const wallSeconds = (performance.now() - started) / 1000;
    const healthResult = await health;
    clearInterval(sampler);
    await sampling;
    const end = await scrapeAll(http);
    const delta = since(end, idle);
    // The servers' own monitors, net of their sampling resolution (prom-client's nodejs_eventloop_lag_* include it).
    const lags = await Promise.all(
      http.map(
        async (url) =>
          ((await (await fetch(`${url}/readyz`)).json()) as { eventLoopLag: { p99Ms: number; maxMs: number } })
            .eventLoopLag,
      ),
    );
    const partial = latencyStats(runs.flatMap((r) => r.partials.map((p) => p.ms)));
    const final = latencyStats(runs.flatMap((r) => r.finals.map((f) => f.ms)));
    const speechEndFinal = latencyStats(runs.flatMap((r) => r.speechEndFinals.map((f) => f.ms)));
    const gap = latencyStats(runs.flatMap((r) => r.partialGaps));
    const finalInterval = latencyStats(runs.flatMap((r) => r.finalIntervals));
    const errors = runs.flatMap((r) => r.errors);
    const partialWorker: StepResult['partialWorker'] = {};
    for (const bucket of TURN_BUCKETS) {
      const count = sum(delta, `stt_partial_worker_seconds_count{turn="${bucket}"}`);
      if (count > 0)
        partialWorker[bucket] = {
          meanMs: Math.round((sum(delta, `stt_partial_worker_seconds_sum{turn="${bucket}"}`) / count) * 1000),
          count,
        };
    }
    const audioSeconds = sum(delta, 'stt_audio_received_seconds_total');
    const partialRuns = ['done', 'failed', 'aborted'].reduce(
      (n, end) => n + sum(delta, `stt_transcriptions_total{kind="partial",end="${end}"}`),
      0,
    );
    const writes = sum(delta, 'stt_session_store_write_seconds_count');
    const quantileMs = (q: number): number =>
      round((histogramQuantile(delta, 'stt_session_store_write_seconds', q) ?? 0) * 1000, 2);
    return {
      strategy,
      streams,
      partial,
      final,
      speechEndFinal,
      gap,
      finalInterval,
      partialWorker,
      workerPerAudioSecond: {
        partial: round(workerSeconds(delta, 'partial', ['done', 'failed']) / audioSeconds, 3),
        final: round(workerSeconds(delta, 'final', ['done', 'failed']) / audioSeconds, 3),
        aborted: round(
          (workerSeconds(delta, 'partial', ['aborted']) + workerSeconds(delta, 'final', ['aborted'])) / audioSeconds,
          3,
        ),
      },
      partialRunsPerDelivered: partial.count === 0 ? Number.POSITIVE_INFINITY : round(partialRuns / partial.count, 2),
      partialIntervalMs: Math.round(Math.max(...end.map((s) => metric(s, 'stt_partial_interval_seconds'))) * 1000),
      partialsPerStreamSecond: round(partial.count / streams / wallSeconds, 2),
      cpuCores: round(sum(delta, 'process_cpu_seconds_total') / wallSeconds, 2),
      rssPerStreamMiB: round((peakRss - idleRss) / streams / MiB, 1),
      peakRssMiB: round(peakRss / MiB, 1),
      peakQueueDepth: peakQueue,
      eventLoopLagP99Ms: Math.max(...lags.map((lag) => lag.p99Ms)),
      eventLoopLagMaxMs: Math.max(...lags.map((lag) => lag.maxMs)),
      healthz: {
        p50Ms: healthResult.latency.p50,
        p99Ms: healthResult.latency.p99,
        maxMs: healthResult.latency.max,
        requests: healthResult.requests.total,
        failures: healthResult.errors + healthResult.timeouts + healthResult.non2xx,
      },
      errors,
      unmatchedFinals: runs.reduce((n, r) => n + r.unmatchedFinals, 0),
      meetsRequirement:
        partial.p95 < PARTIAL_P95_LIMIT_MS &&
        final.p95 < FINAL_P95_LIMIT_MS &&
        gap.p50 <= GAP_P50_LIMIT_MS &&
        gap.p95 <= GAP_P95_LIMIT_MS &&
        errors.length === 0,
      perInstance: delta.map((s) => metric(s, 'stt_sessions_created_total')),
      storeWrite: writes > 0 ? { p50Ms: quantileMs(0.5), p95Ms: quantileMs(0.95), count: writes } : null,
    };
  } finally {
    target.stop();
  }
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;
/** Percentiles of a step that got no partial at all are not numbers: the table says so. */
const percentiles = (s: LatencyStats): string =>
  s.count === 0 ? 'none (0)' : `${s.p50} / ${s.p95} / ${s.p99} (${s.count})`;

/** Every stream count given runs, past the capacity too: the table shows how latency and cadence degrade. */
async function ramp(
  strategy: StreamStrategy,
  counts: number[],
  seconds: number,
  clips: SpeechClip[],
  corpus: Corpus,
  target: () => Promise<Target>,
): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const streams of counts) {
    const result = await step(strategy, streams, seconds, clips, corpus, await target());
    results.push(result);
    const work = result.workerPerAudioSecond;
    console.error(
      `${strategy} x${streams}: partial p95 ${result.partial.p95} ms, final p95 ${result.final.p95} ms (end of ` +
        `speech ${result.speechEndFinal.p95}), ` +
        `gap p50/p95 ${result.gap.p50}/${result.gap.p95} ms, final interval p95/max ` +
        `${result.finalInterval.p95}/${result.finalInterval.max} ms, ` +
        `worker s per audio s ${work.partial}+${work.final}+${work.aborted} aborted, partial runs per delivered ` +
        `${result.partialRunsPerDelivered}, errors ${result.errors.length}` +
        `${result.meetsRequirement ? '' : ' (misses the requirement)'}`,
    );
  }
  return results;
}

/** Largest stream count that passes, as every smaller one measured does. */
function largestPassing(results: StepResult[], passes: (r: StepResult) => boolean): number {
  const firstMiss = results.findIndex((r) => !passes(r));
  return (firstMiss < 0 ? results.at(-1) : results[firstMiss - 1])?.streams ?? 0;
}

function table(results: StepResult[]): string[] {
  const lines = [
    '| strategy | streams | partial p50 / p95 / p99 ms (n) | final p50 / p95 / p99 ms (n) | end-of-speech final ' +
      'p50 / p95 ms | gap p50 / p95 ms | audio between finals p50 / p95 / max ms | errors | meets requirement |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.strategy} | ${r.streams} | ${percentiles(r.partial)} | ${percentiles(r.final)} | ` +
        `${r.speechEndFinal.p50} / ${r.speechEndFinal.p95} | ${r.gap.p50} / ${r.gap.p95} | ` +
        `${r.finalInterval.p50} / ${r.finalInterval.p95} / ${r.finalInterval.max} | ${r.errors.length} | ` +
        `${r.meetsRequirement ? 'yes' : 'no'} |`,
    );
  }
  return lines;
}

/** What the work cost per step: worker time by kind, wasted partial runs, the machine. */
function costTable(results: StepResult[]): string[] {
  const lines = [
    '| strategy | streams | worker s per audio s: partial + final + aborted = total | partial runs per partial ' +
      'delivered | partial interval ms | partials per stream per s | CPU cores | RSS MiB per stream | event-loop ' +
      'lag p99 / max ms | /healthz p50 / p99 / max ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of results) {
    const w = r.workerPerAudioSecond;
    lines.push(
      `| ${r.strategy} | ${r.streams} | ${w.partial} + ${w.final} + ${w.aborted} = ` +
        `${round(w.partial + w.final + w.aborted, 3)} | ${r.partialRunsPerDelivered} | ` +
        `${r.partialIntervalMs} | ${r.partialsPerStreamSecond} | ${r.cpuCores} | ${r.rssPerStreamMiB} | ` +
        `${round(r.eventLoopLagP99Ms, 1)} / ${round(r.eventLoopLagMaxMs, 1)} | ${r.healthz.p50Ms} / ` +
        `${r.healthz.p99Ms} / ${r.healthz.maxMs} |`,
    );
  }
  return lines;
}

/** Worker ms per partial by the turn's length so far, per step: flat when partials cost what their tail does. */
function workerTable(results: StepResult[]): string[] {
  const lines = [
    `| strategy | streams | ${TURN_BUCKETS.map((b) => `turn ${b}: ms (n)`).join(' | ')} |`,
    `| --- | ---: |${' ---: |'.repeat(TURN_BUCKETS.length)}`,
  ];
  for (const r of results) {
    const cells = TURN_BUCKETS.map((b) =>
      r.partialWorker[b] ? `${r.partialWorker[b].meanMs} (${r.partialWorker[b].count})` : '-',
    );
    lines.push(`| ${r.strategy} | ${r.streams} | ${cells.join(' | ')} |`);
  }
  return lines;
}

/** Streams per instance and the session store's writes, per step (several instances). */
function instancesTable(results: StepResult[]): string[] {
  const lines = ['| streams | streams per instance | store write p50 / p95 ms (writes) |', '| ---: | --- | ---: |'];
  for (const r of results) {
    const store = r.storeWrite ? `${r.storeWrite.p50Ms} / ${r.storeWrite.p95Ms} (${r.storeWrite.count})` : 'no store';
    lines.push(`| ${r.streams} | ${r.perInstance.join(' / ')} | ${store} |`);
  }
  return lines;
}

function comparison(ours: StepResult[], baseline: StepResult[]): string[] {
  const lines = [
    '| streams | partial p95 ours / baseline ms | ratio | final p95 ours / baseline ms | ratio |',
    '| ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const b of baseline) {
    const o = ours.find((r) => r.streams === b.streams);
    if (!o) continue;
    const partialRatio =
      b.partial.count === 0 ? 'baseline got no partial' : `${round(b.partial.p95 / o.partial.p95, 1)}x`;
    lines.push(
      `| ${b.streams} | ${o.partial.p95} / ${b.partial.count === 0 ? 'none' : b.partial.p95} | ${partialRatio} | ` +
        `${o.final.p95} / ${b.final.p95} | ${round(b.final.p95 / o.final.p95, 1)}x |`,
    );
  }
  return lines;
}

function chart(ours: StepResult[], baseline: StepResult[]): string {
  const points = (results: StepResult[], pick: (r: StepResult) => number): [number, number][] =>
    results.map((r) => [r.streams, pick(r)]);
  const yMax = 6000;
  return lineChart({
    title: 'Latency p95 against concurrent streams (2-core machine, synthetic tiny.en)',
    xLabel: 'concurrent streams',
    yLabel: `p95 latency, ms (clipped at ${yMax})`,
    yMax,
    guides: [
      { y: PARTIAL_P95_LIMIT_MS, label: 'partial limit 500 ms' },
      { y: FINAL_P95_LIMIT_MS, label: 'final limit 2 s' },
    ],
    series: [
      { label: 'partial p95', points: points(ours, (r) => r.partial.p95) },
      { label: 'final p95', points: points(ours, (r) => r.final.p95) },
      { label: 'baseline partial p95', points: points(baseline, (r) => r.partial.p95), dashed: true },
      { label: 'baseline final p95', points: points(baseline, (r) => r.final.p95), dashed: true },
    ],
  });
}

async function main(): Promise<void> {
  const { values, serverFlags } = benchArgs({
    streams: { type: 'string', default: '1,2,4,6,8,10,12' },
    seconds: { type: 'string', default: '60' },
    'baseline-streams': { type: 'string', default: '1,2,4' },
    files: { type: 'string', default: '' },
    name: { type: 'string', default: 'load' },
    corpus: { type: 'string', default: 'mixed' },
    decode: { type: 'string', default: 'emulated' },
    urls: { type: 'string', default: '' },
    instances: { type: 'string', default: '' },
  });
  const list = (value: unknown): number[] => (String(value) === '' ? [] : String(value).split(',').map(Number));
  const corpus = String(values.corpus);
  if (corpus !== 'mixed' && corpus !== 'continuous') throw new Error(`--corpus is mixed or continuous, not ${corpus}`);
  const seconds = Number(values.seconds);
  const clips = await loadClips(values.files ? String(values.files).split(',') : undefined);
  const machine = machineInfo();
  const rate = realTokenRate(clips);
  const emulated = values.decode !== 'model';
  const decode = emulated
    ? `emulated real decode length: ${rate.tokensPerSecond} tokens per second of audio (GPT-2 tokens of the ` +
      'reference transcripts per second of speech: ' +
      `${rate.measuredOn.map((m) => `${m.clip} ${m.tokens} tokens / ${m.speechSeconds} s`).join(', ')})`
    : "the synthetic model's own decode length (random: ends at once or runs to the token cap)";
  const flags = emulated ? ['--emulate-tokens-per-s', String(rate.tokensPerSecond), ...serverFlags] : serverFlags;
  console.error(
    `machine: ${describeMachine(machine)}; clips: ${clips.map((c) => c.name).join(', ')}; ${seconds} s per ` +
      `stream per step; decode: ${decode}`,
  );

  const urls = String(values.urls) === '' ? [] : String(values.urls).split(',');
  const instances =
    String(values.instances) === ''
      ? urls.map((url) => url.replace(/^ws/, 'http').replace(/\/stream$/, ''))
      : String(values.instances).split(',');
  const external: Target = { streamUrls: urls, httpUrls: instances, stop: () => undefined };
  const ours = await ramp(
    'adaptive',
    list(values.streams),
    seconds,
    clips,
    corpus,
    urls.length > 0 ? async () => external : () => localTarget('adaptive', flags),
  );
  const baseline =
    urls.length > 0
      ? []
      : await ramp('naive', list(values['baseline-streams']), seconds, clips, corpus, () =>
          localTarget('naive', flags),
        );
  const capacity = largestPassing(ours, (r) => r.meetsRequirement);

  const command = `node dist/bench/load.js ${process.argv.slice(2).join(' ')}`.trim();
  const audio =
    corpus === 'mixed'
      ? 'whole clips with 0.6-2.5 s pauses'
      : "the clips' speech only, pauses cut to 50-150 ms (continuous speech)";
  const report = [
    `machine: ${describeMachine(machine)}`,
    `model: synthetic tiny.en; decode: ${decode}`,
    `audio per stream: ${clips.map((c) => c.name).join(', ')} in turn (each stream starts at a different one), ` +
      `${audio}, ${seconds} s, real time, 20 ms frames`,
    `command: ${command}`,
    '',
    ...table([...ours, ...baseline]),
    '',
    ...costTable([...ours, ...baseline]),
    '',
    'Worker time per partial by turn length (mean ms, count):',
    '',
    ...workerTable([...ours, ...baseline]),
    '',
    ...(urls.length > 0
      ? [`targets: ${urls.join(', ')}; instances: ${instances.join(', ')}`, '', ...instancesTable(ours), '']
      : []),
    ...(baseline.length > 0 ? [...comparison(ours, baseline), ''] : []),
    `capacity: ${capacity} streams (largest N that, like every smaller N measured, has partial p95 < ` +
      `${PARTIAL_P95_LIMIT_MS} ms, final p95 < ${FINAL_P95_LIMIT_MS} ms, partial gap p50 <= ${GAP_P50_LIMIT_MS} ` +
      `ms and p95 <= ${GAP_P95_LIMIT_MS} ms, and no errors)`,
  ];
  console.log(report.join('\n'));

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = join(projectRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${String(values.name)}-${stamp}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      { command, machine, decode, corpus, seconds, clips: clips.map((c) => c.name), capacity, ours, baseline },
      null,
      2,
    ),
  );
  const svg = join(projectRoot, 'docs', `${String(values.name)}-latency.svg`);
  writeFileSync(svg, chart(ours, baseline));
  console.log(`\nraw results: ${file}\nchart: ${svg}`);
}

await main();
