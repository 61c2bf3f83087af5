/**
 * CPU cost of the band-limited resampler (engine/audio/resampler.ts) per stream, for the rates clients send: 48 kHz
 * (browsers), 44.1 kHz, 24 kHz (OpenAI Realtime) and 8 kHz (telephony), in 20 ms chunks as live streams arrive.
 * Prints seconds of CPU (process CPU time, best of three runs) per hour of audio and how many streams one core could
 * convert.
 *
 *   node dist/bench/resampler.js [--seconds 60]
 */
import { parseArgs } from 'node:util';
import { Resampler } from '../engine/audio/resampler.js';
import { describeMachine, machineInfo } from './lib/machine.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' } } });
const seconds = Number(values.seconds);
if (!(seconds >= 1 && seconds <= 3600)) throw new Error('--seconds must be from 1 to 3600');

/**
 * The baseline: linear interpolation without a low-pass filter, as the server did before (and as aliasing does):
 * the cheapest conversion there is, so the table shows what the filter costs on top.
 */
class LinearBaseline {
  private position = 0;
  private previous = 0;
  constructor(
    private readonly rate: number,
    private readonly channels: number,
  ) {}
  process(input: Int16Array): Int16Array {
    const step = this.rate / 16000;
    const frames = input.length / this.channels;
    const frame = (i: number): number => {
      if (i < 0) return this.previous;
      let sum = 0;
      for (let c = 0; c < this.channels; c++) sum += input[i * this.channels + c] as number;
      return sum / this.channels;
    };
    const out = new Int16Array(Math.max(0, Math.ceil((frames - 1 - this.position) / step)));
    let n = 0;
    for (; this.position < frames - 1 && n < out.length; this.position += step) {
      const i = Math.floor(this.position);
      const frac = this.position - i;
      out[n++] = Math.round(frame(i) * (1 - frac) + frame(i + 1) * frac);
    }
    this.position -= frames;
    this.previous = frame(frames - 1);
    return out;
  }
}

/** Noise-like s16 audio (a full spectrum, as speech and room noise have). */
function audio(rate: number, channels: number): Int16Array {
  const pcm = new Int16Array(rate * channels * seconds);
  let state = 7;
  for (let i = 0; i < pcm.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    pcm[i] = (state >>> 16) - 32768;
  }
  return pcm;
}

console.log(`machine: ${describeMachine(machineInfo())}`);
console.log(`command: node dist/bench/resampler.js --seconds ${seconds}`);
console.log('\n| input | chunk | converter | CPU s per hour of audio | streams per core |');
console.log('| --- | ---: | --- | ---: | ---: |');
for (const [rate, channels] of [
  [48000, 1],
  [48000, 2],
  [44100, 1],
  [24000, 1],
  [8000, 1],
] as const) {
  const pcm = audio(rate, channels);
  const chunk = (rate / 50) * channels;
  for (const [name, make] of [
    ['windowed sinc, 80 dB', () => new Resampler(rate, channels)],
    ['linear (baseline)', () => new LinearBaseline(rate, channels)],
  ] as const) {
    // The best of three runs: the machine's other work only ever adds time.
    let best = Infinity;
    for (let run = 0; run < 3; run++) {
      const converter = make();
      const started = process.cpuUsage();
      for (let at = 0; at < pcm.length; at += chunk) converter.process(pcm.subarray(at, at + chunk));
      const used = process.cpuUsage(started);
      best = Math.min(best, (used.user + used.system) / 1000);
    }
    const perHour = (best / 1000) * (3600 / seconds);
    console.log(
      `| ${rate} Hz ${channels === 1 ? 'mono' : 'stereo'} | 20 ms | ${name} | ` +
        `${perHour.toFixed(1)} | ${Math.floor(3600 / perHour)} |`,
    );
  }
}
