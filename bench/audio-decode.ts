/**
 * CPU cost of reading the audio clients send: live streams (Opus in WebM and Ogg, G.711 mu-law; decoded on the event
 * loop, per message) and uploaded files of each format (decoded on the upload worker), from fixtures/audio/. Prints
 * seconds of CPU per hour of audio, and the worst a single live message may cost at its bound.
 *
 *   node dist/bench/audio-decode.js [--rounds 5]
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerStream } from '../engine/codecs/container-stream.js';
import { decodeAudioFile } from '../engine/codecs/file-decoder.js';
import { prepareOpus } from '../engine/codecs/opus.js';
import { RawPcmConverter } from '../engine/codecs/raw-pcm.js';
import { fixturesDir } from '../engine/index.js';
import { describeMachine, machineInfo } from './lib/machine.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);
if (!(rounds >= 1 && rounds <= 100)) throw new Error('--rounds must be from 1 to 100');

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(fixturesDir, 'audio', name)));
const BOUNDS = { minRate: 8000, maxRate: 192_000, maxChannels: 8 };
const MAX_CALL_MS = 5000;

/** Best CPU milliseconds of `rounds` runs of `run` (the machine's other work only ever adds time). */
async function cpuMs(run: () => Promise<unknown> | unknown): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < rounds; i++) {
    // Time for the ready Opus decoders a live stream takes to be replaced, as between connections.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = process.cpuUsage();
    await run();
    const used = process.cpuUsage(started);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}

await prepareOpus();
console.log(`machine: ${describeMachine(machineInfo())}`);
console.log(`command: node dist/bench/audio-decode.js --rounds ${rounds}`);
console.log('\n| where | audio | chunks | CPU s per hour of audio | one message at its bound |');
console.log('| --- | --- | --- | ---: | ---: |');
for (const [name, label, seconds] of [
  ['jfk.webm', 'WebM/Opus 24 kbit/s', 11.014],
  ['jfk.opus', 'Ogg/Opus 24 kbit/s', 11.014],
] as const) {
  const bytes = fixture(name);
  const chunk = Math.ceil(bytes.length / 44);
  const ms = await cpuMs(() => {
    const stream = new ContainerStream(MAX_CALL_MS, BOUNDS);
    for (let at = 0; at < bytes.length; at += chunk) stream.push(bytes.subarray(at, at + chunk));
  });
  const perHour = (ms / 1000) * (3600 / seconds);
  console.log(
    `| live stream | ${label} | 250 ms | ${perHour.toFixed(1)} | ` +
      `${((ms / seconds) * (MAX_CALL_MS / 1000)).toFixed(0)} ms (5 s) |`,
  );
}
const mulaw = fixture('jfk-8k.ulaw');
const g711 = await cpuMs(() => {
  const converter = new RawPcmConverter('mulaw', 8000, 1);
  for (let at = 0; at < mulaw.length; at += 160) converter.push(mulaw.subarray(at, at + 160));
});
console.log(
  `| live stream | G.711 mu-law 8 kHz | 20 ms | ${((g711 / 1000) * (3600 / 11)).toFixed(1)} | ` +
    `${(g711 / 11).toFixed(1)} ms (1 s) |`,
);
for (const [name, label, seconds] of [
  ['jfk.mp3', 'MP3 32 kbit/s 22.05 kHz', 11],
  ['jfk.opus', 'Ogg/Opus', 11.014],
  ['jfk.webm', 'WebM/Opus', 11.014],
  ['jfk-3s.flac', 'FLAC 16 kHz', 3],
  ['jfk-3s.ogg', 'Ogg/Vorbis 44.1 kHz stereo', 3],
] as const) {
  const bytes = fixture(name);
  const limits = { ...BOUNDS, maxSeconds: 600 };
  // The decoders compile once per thread; the first run pays for it, the best of the others is reported.
  await decodeAudioFile(bytes, limits);
  const ms = await cpuMs(() => decodeAudioFile(bytes, limits));
  console.log(`| upload (worker) | ${label} | whole file | ${((ms / 1000) * (3600 / seconds)).toFixed(1)} | — |`);
}
