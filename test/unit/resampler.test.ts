// The band-limited resampler (engine/audio/resampler.ts): what would alias is attenuated, speech passes at unity, a
// stream cut into chunks comes out the same as the whole, and every rate from 8 to 192 kHz keeps time.
import t from 'tap';
import { Resampler, TARGET_RATE } from '../../engine/audio/resampler.js';

function tone(rate: number, hz: number, seconds: number, amplitude = 0.5): Float32Array {
  const x = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < x.length; i++) x[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / rate);
  return x;
}

function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** RMS of the output away from its ends, relative to full scale. */
function rms(pcm: Int16Array, margin = 1600): number {
  let sum = 0;
  for (let i = margin; i < pcm.length - margin; i++) sum += ((pcm[i] as number) / 32768) ** 2;
  return Math.sqrt(sum / (pcm.length - 2 * margin));
}

const db = (ratio: number): number => 20 * Math.log10(ratio);

function resample(
  rate: number,
  input: Float32Array | Int16Array,
  chunks: number[] = [input.length],
  channels = 1,
): Int16Array {
  const resampler = new Resampler(rate, channels);
  const parts: Int16Array[] = [];
  for (let at = 0, i = 0; at < input.length; i++) {
    const n = (chunks[i % chunks.length] as number) * channels;
    parts.push(resampler.process(input.subarray(at, at + n)));
    at += n;
  }
  parts.push(resampler.flush());
  return concat(parts);
}

t.test('a 12 kHz tone at 48 kHz comes out at least 60 dB down', async (t) => {
  const out = resample(48000, tone(48000, 12000, 2));
  const level = rms(out) === 0 ? -Infinity : db(rms(out) / (0.5 / Math.SQRT2));
  t.ok(level <= -60, `12 kHz at ${level.toFixed(1)} dB`);
  // Just past the output's Nyquist frequency (8 kHz) is where linear interpolation aliased worst.
  for (const hz of [9000, 10000, 15000, 20000]) {
    const l = db(rms(resample(48000, tone(48000, hz, 1))) / (0.5 / Math.SQRT2) || Number.MIN_VALUE);
    t.ok(l <= -60, `${hz} Hz at ${l.toFixed(1)} dB`);
  }
});

t.test('a 1 kHz tone passes at unity and in phase, at every usual rate', async (t) => {
  for (const rate of [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 96000, 192000, 22051]) {
    const out = resample(rate, tone(rate, 1000, 1));
    t.equal(out.length, TARGET_RATE, `${rate} Hz: one second in, one second out`);
    const gain = db(rms(out) / (0.5 / Math.SQRT2));
    t.ok(Math.abs(gain) < 0.01, `${rate} Hz: gain ${gain.toFixed(4)} dB`);
    let maxError = 0;
    for (let i = 200; i < out.length - 200; i++)
      maxError = Math.max(
        maxError,
        Math.abs((out[i] as number) - 0.5 * 32768 * Math.sin((2 * Math.PI * 1000 * i) / TARGET_RATE)),
      );
    t.ok(maxError <= 4, `${rate} Hz: sample n is the input at n / 16 kHz (max error ${maxError.toFixed(1)} of 16384)`);
  }
});

t.test('chunked equals one-shot, sample for sample', async (t) => {
  const noise = new Float32Array(48000);
  let state = 1;
  for (let i = 0; i < noise.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    noise[i] = state / 2 ** 32 - 0.5;
  }
  for (const rate of [8000, 24000, 44100, 48000, 22051]) {
    const input = noise.subarray(0, rate);
    const whole = resample(rate, input);
    const chunked = resample(rate, input, [1, 7, 160, 333, 480, 1024, 0]);
    t.same(chunked, whole, `${rate} Hz: chunks of 0 to 1,024 samples`);
  }
  const stereo = new Int16Array(2 * 44100).map((_, i) => ((i * 7919) % 65536) - 32768);
  t.same(
    resample(44100, stereo, [441, 17], 2),
    resample(44100, stereo, [stereo.length / 2], 2),
    'interleaved stereo Int16',
  );
});

t.test('channels are averaged; 16 kHz mono passes through untouched', async (t) => {
  const left = tone(24000, 500, 0.5);
  const stereo = new Float32Array(2 * left.length);
  for (let i = 0; i < left.length; i++) {
    stereo[2 * i] = left[i] as number;
    stereo[2 * i + 1] = -(left[i] as number);
  }
  t.ok(rms(resample(24000, stereo, [stereo.length / 2], 2)) === 0, 'opposite channels cancel');
  const pcm = new Int16Array([1, -2, 3, 32767, -32768]);
  t.same(new Resampler(16000).process(pcm), pcm);
  t.same(new Resampler(16000).flush(), new Int16Array(0));
  t.throws(() => new Resampler(0), RangeError);
  t.throws(() => new Resampler(44100.5), RangeError);
});
