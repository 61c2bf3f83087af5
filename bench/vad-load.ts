/**
 * Speech detection's share of the event loop: N in-process sessions fed real speech at real time (20 ms frames),
 * transcription stubbed out, with Silero (a) on the event loop (LocalSpeechDetector), (b) on the server's detection
 * thread (VadService), and (c) no detection at all, the baseline the shares are measured from.
 *
 *   node dist/bench/vad-load.js [--sessions 50,100] [--seconds 20]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { BUNDLED_VAD_MODEL, readWav16kMono, fixturesDir } from '../engine/index.js';
import {
  LanguagePolicy,
  LocalSpeechDetector,
  StreamSession,
  TranscriptionScheduler,
  type SpeechDetector,
  type StreamSettings,
  type TranscriptionOutcome,
  type TranscriptionRunner,
} from '../engine/pipeline/index.js';
import { VadService } from '../workers/vad-service.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { join } from 'node:path';

const FRAME = 320;
const SETTINGS: StreamSettings = {
  strategy: 'adaptive',
  partials: false,
  partialIntervalMs: 400,
  endSilenceMs: 400,
  maxSegmentMs: 6000,
  maxUtteranceMs: 15000,
  threads: 1,
  finalBeamSize: 1,
  earlyFinals: false,
  emulatedTokensPerSecond: 0,
};

/** Transcription stubbed out: every final is empty at once, so only detection and bookkeeping run. */
const instant: TranscriptionRunner = {
  transcribe: (): Promise<TranscriptionOutcome> =>
    Promise.resolve({ text: '', language: 'en', segments: [], timings: { encodeMs: 0, decodeMs: 0, totalMs: 0 } }),
};

/** Detection that hears nothing and costs nothing: the baseline. */
const silent = (): SpeechDetector => {
  let samples = 0;
  let windows = 0;
  return {
    windowSamples: 512,
    push: (pcm) => {
      samples += pcm.length;
      const n = Math.floor(samples / 512) - windows;
      windows += n;
      return Promise.resolve(new Float32Array(n));
    },
    flush: () => Promise.resolve(new Float32Array(0)),
    close: () => undefined,
  };
};

async function run(
  sessions: number,
  seconds: number,
  detector: () => SpeechDetector,
  speech: Int16Array,
): Promise<number> {
  const scheduler = new TranscriptionScheduler(instant, { slots: 1, uploads: 1 });
  const languages = new LanguagePolicy(['en'], false);
  const all = Array.from(
    { length: sessions },
    () => new StreamSession({ scheduler, detector: detector(), languages, defaultLanguage: 'en', settings: SETTINGS }),
  );
  const frames = Math.floor((seconds * 1000) / 20);
  const start = performance.eventLoopUtilization();
  const began = performance.now();
  for (let f = 0; f < frames; f++) {
    // Each session plays the speech from its own offset, so their utterances do not line up.
    all.forEach((session, i) => {
      const at = ((f + i * 37) * FRAME) % (speech.length - FRAME);
      const frame = speech.subarray(at, at + FRAME);
      session.pushAudio(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
    });
    const due = began + (f + 1) * 20;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
  }
  const used = performance.eventLoopUtilization(start);
  await Promise.all(all.map((session) => session.end()));
  for (const session of all) session.close();
  return used.utilization;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { sessions: { type: 'string', default: '50,100' }, seconds: { type: 'string', default: '20' } },
  });
  const counts = String(values.sessions).split(',').map(Number);
  const seconds = Number(values.seconds);
  const speech = readWav16kMono(join(fixturesDir, 'speech', 'silero_test_en.wav'));
  const service = await VadService.start(BUNDLED_VAD_MODEL);
  const rows: string[] = [
    '| sessions | event loop busy, no VAD | VAD on the event loop: busy / its share | VAD on the detection ' +
      'thread: busy / its share |',
    '| ---: | ---: | ---: | ---: |',
  ];
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  for (const n of counts) {
    const none = await run(n, seconds, silent, speech);
    const local = await run(n, seconds, () => new LocalSpeechDetector(BUNDLED_VAD_MODEL), speech);
    const worker = await run(n, seconds, () => service.open(), speech);
    rows.push(
      `| ${n} | ${pct(none)} | ${pct(local)} / ${pct(local - none)} | ${pct(worker)} / ${pct(worker - none)} |`,
    );
    console.error(`${n} sessions done`);
  }
  await service.close();
  console.log(
    [
      `machine: ${describeMachine(machineInfo())}`,
      'audio: fixtures/speech/silero_test_en.wav looped, each session from its own offset, real time, 20 ms ' +
        `frames, ${seconds} s; transcription stubbed out`,
      `command: node dist/bench/vad-load.js ${process.argv.slice(2).join(' ')}`.trim(),
      '',
      ...rows,
    ].join('\n'),
  );
}

await main();
