// Engine micro-benchmark: encoder/decoder cost of the addon for short clips, automatic vs full audioCtx.
// Usage: node dist/bench/engine.js [--model PATH] [--runs N]   (npm run bench:engine)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { WhisperModel, fixturesDir, projectRoot, readWav16kMono } from '../engine/index.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { median } from './lib/stats.js';

const { values } = parseArgs({ options: { model: { type: 'string' }, runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
const SECONDS = [1, 3, 5, 10];
const THREADS = [1, 2];
const CONTEXTS = ['auto', 'full'] as const;
// About what real speech yields per second; the synthetic model's text is random, so decoding is capped alike.
const TOKENS_PER_SECOND = 4;

interface Row {
  seconds: number;
  threads: number;
  audioCtx: number;
  mode: (typeof CONTEXTS)[number];
  encodeMs: number;
  decodeMs: number;
  totalMs: number;
}

const jfk = readWav16kMono(join(fixturesDir, 'speech', 'jfk.wav'));
const model = new WhisperModel(values.model);
const machine = machineInfo();
console.log(`model: ${model.path}`);
console.log(`machine: ${describeMachine(machine)}`);
console.log(
  `median of ${runs} runs after one warm-up; greedy, maxTokens = ${TOKENS_PER_SECOND} per second of audio, no ` +
    'temperature fallback\n',
);

const rows: Row[] = [];
for (const seconds of SECONDS) {
  const audio = jfk.subarray(0, seconds * 16000);
  for (const threads of THREADS) {
    for (const mode of CONTEXTS) {
      const options = { threads, audioCtx: mode, maxTokens: TOKENS_PER_SECOND * seconds, temperatureFallback: false };
      await model.transcribe(audio, options);
      const samples = [];
      for (let i = 0; i < runs; i++) samples.push(await model.transcribe(audio, options));
      const row: Row = {
        seconds,
        threads,
        mode,
        audioCtx: samples[0]?.audioCtx ?? 0,
        encodeMs: median(samples.map((r) => r.timings.encodeMs)),
        decodeMs: median(samples.map((r) => r.timings.decodeMs)),
        totalMs: median(samples.map((r) => r.timings.totalMs)),
      };
      rows.push(row);
      console.log(
        `${seconds} s, ${threads} thread(s), audioCtx ${mode} (${row.audioCtx}): encode ` +
          `${row.encodeMs.toFixed(0)} ms, ` +
          `decode ${row.decodeMs.toFixed(0)} ms, total ${row.totalMs.toFixed(0)} ms`,
      );
    }
  }
}
model.free();

const fmt = (n: number): string => n.toFixed(0);
const table = [
  '| audio | threads | audioCtx | encode ms | decode ms | total ms |',
  '| ---: | ---: | --- | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.seconds} s | ${r.threads} | ${r.mode} (${r.audioCtx}) | ${fmt(r.encodeMs)} | ${fmt(r.decodeMs)} | ` +
      `${fmt(r.totalMs)} |`,
  ),
].join('\n');
console.log(`\n${table}\n`);
for (const threads of THREADS) {
  const pick = (mode: string): Row | undefined =>
    rows.find((r) => r.seconds === 3 && r.threads === threads && r.mode === mode);
  const auto = pick('auto');
  const full = pick('full');
  if (auto && full)
    console.log(
      `3 s at ${threads} thread(s): automatic audioCtx is ${(full.totalMs / auto.totalMs).toFixed(1)}x faster in ` +
        `total, ${(full.encodeMs / auto.encodeMs).toFixed(1)}x in the encoder`,
    );
}

const outDir = join(projectRoot, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const out = join(outDir, `engine-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(out, JSON.stringify({ model: model.path, machine, runs, rows }, null, 2));
console.log(`\nresults: ${out}`);
