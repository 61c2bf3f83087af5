/**
 * Streaming latency bench: N concurrent clients stream real speech at real-time pace to a fresh server process and
 * time every partial and final. See the header of printReport() for what each figure means.
 *
 *   node dist/bench/stream-latency.js [--clients 1,2,4,8] [--files a.wav,b.wav (from fixtures/speech)]
 *                                     [server flags, e.g. --pool-size 2 --threads 1]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VadModel, fixturesDir, projectRoot, readWav16kMono } from '../engine/index.js';
import { DRAIN_MS, STAGGER_MS, runClient } from './lib/latency-client.js';
import { benchArgs } from './lib/bench-args.js';
import { describeMachine, machineInfo, type MachineInfo } from './lib/machine.js';
import { startServer } from './lib/server-process.js';
import type { Timeline } from './lib/speech-timeline.js';
import { latencyStats as stats, type LatencyStats } from './lib/stats.js';

const DEFAULT_FILES = 'jfk.wav,6930-75918-0000.wav,7902-96591-0000.wav,silero_test_en.wav';
const GAP_MS = 1000;
const FRAME_MS = 20;

interface RunResult {
  clients: number;
  partial: LatencyStats;
  final: LatencyStats;
  /** Finals that could not be matched to a VAD speech end in the source (forced cuts). */
  unmatchedFinals: number;
  eventLoopLag: Record<string, number>;
  server: Record<string, unknown>;
}

function playlist(files: string[]): Int16Array {
  const gap = new Int16Array((GAP_MS * 16000) / 1000);
  const parts = files.flatMap((name) => [readWav16kMono(join(fixturesDir, 'speech', name)), gap]);
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

async function run(clients: number, timeline: Timeline, flags: string[]): Promise<RunResult> {
  const { child, port } = await startServer(flags);
  try {
    const runs = await Promise.all(
      Array.from({ length: clients }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, i * STAGGER_MS));
        return runClient(`ws://127.0.0.1:${port}/stream`, timeline, DRAIN_MS);
      }),
    );
    const ready = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as Record<string, unknown>;
    return {
      clients,
      partial: stats(runs.flatMap((r) => r.partials.map((p) => p.ms))),
      final: stats(runs.flatMap((r) => r.finals.map((f) => f.ms))),
      unmatchedFinals: runs.reduce((n, r) => n + r.unmatchedFinals, 0),
      eventLoopLag: ready['eventLoopLag'] as Record<string, number>,
      server: { pool: ready['pool'], settings: ready['settings'], model: ready['model'] },
    };
  } finally {
    child.kill('SIGTERM');
  }
}

function printReport(results: RunResult[], files: string[], machine: MachineInfo, command: string): void {
  const first = results[0];
  const model = first?.server['model'] as { path: string; synthetic: boolean } | undefined;
  console.log(`machine: ${describeMachine(machine)}`);
  console.log(`model: ${model?.path}${model?.synthetic ? ' (synthetic: real compute, nonsense text)' : ''}`);
  console.log(`server: ${JSON.stringify(first?.server['pool'])} ${JSON.stringify(first?.server['settings'])}`);
  console.log(
    `audio per client: ${files.join(' + ')}, each followed by ${GAP_MS} ms silence, ${FRAME_MS} ms frames, real time`,
  );
  console.log(`command: ${command}`);
  // Partial latency: arrival minus the send time of the newest audio the partial covers (its end_ms).
  // Final latency: arrival minus the send time of the audio where the source's whole-file VAD says speech ended.
  console.log(
    '\n| clients | partial p50 / p95 / p99 ms (n) | final p50 / p95 / p99 ms (n) | event-loop lag p99 / max ms |',
  );
  console.log('| ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const p = r.partial;
    const f = r.final;
    console.log(
      `| ${r.clients} | ${p.p50} / ${p.p95} / ${p.p99} (${p.count}) | ${f.p50} / ${f.p95} / ${f.p99} ` +
        `(${f.count}) | ${r.eventLoopLag['p99Ms']?.toFixed(1)} / ${r.eventLoopLag['maxMs']?.toFixed(1)} |`,
    );
  }
}

async function main(): Promise<void> {
  const { values, serverFlags } = benchArgs({
    clients: { type: 'string', default: '1,2,4,8' },
    files: { type: 'string', default: DEFAULT_FILES },
  });
  const counts = String(values.clients).split(',').map(Number);
  const files = String(values.files).split(',');
  const audio = playlist(files);
  const vad = new VadModel();
  const timeline: Timeline = { pcm: audio, regions: await vad.segments(audio) };
  vad.free();

  const results: RunResult[] = [];
  for (const clients of counts) {
    const result = await run(clients, timeline, serverFlags);
    results.push(result);
    console.error(`${clients} client(s): partial p95 ${result.partial.p95} ms, final p95 ${result.final.p95} ms`);
  }
  const command = `node dist/bench/stream-latency.js ${process.argv.slice(2).join(' ')}`.trim();
  const machine = machineInfo();
  printReport(results, files, machine, command);
  const dir = join(projectRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `stream-latency-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ command, files, machine, results }, null, 2));
  console.log(`\nraw results: ${file}`);
}

await main();
