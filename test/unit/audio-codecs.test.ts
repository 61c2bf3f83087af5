// The audio decoders (engine/codecs/*) against what real encoders make and what hostile clients send: every format
// decodes to PCM that matches the source, truncated, bit-flipped and random input only ever gives AudioDecodeError,
// and limits stop decoding before the work is done.
import t, { type Test } from 'tap';
import { ContainerStream } from '../../engine/codecs/container-stream.js';
import { AudioDecodeError } from '../../engine/codecs/errors.js';
import { decodeAudioFile, type FileLimits } from '../../engine/codecs/file-decoder.js';
import { expandG711 } from '../../engine/codecs/g711.js';
import { prepareOpus } from '../../engine/codecs/opus.js';
import { RawPcmConverter } from '../../engine/codecs/raw-pcm.js';
import { encodeWav } from '../../engine/index.js';
import { audioFixture, concatPcm, similarity } from '../helpers/audio-fixtures.js';
import { speech } from '../helpers/engine-fixtures.js';

const jfk = speech('jfk.wav');
const LIMITS: FileLimits = { maxSeconds: 600, minRate: 8000, maxRate: 192_000, maxChannels: 8 };
const BOUNDS = { minRate: 8000, maxRate: 192_000, maxChannels: 8 };

/** A deterministic byte source, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/** Decoding either succeeds or fails with AudioDecodeError; anything else fails the test. */
async function decodesOrRefuses(t: Test, data: Uint8Array, label: string): Promise<void> {
  try {
    await decodeAudioFile(data, LIMITS);
  } catch (error) {
    if (!(error instanceof AudioDecodeError))
      t.fail(`${label}: ${error instanceof Error ? error.stack : String(error)}`);
  }
}

const FILES: [name: string, format: string, seconds: number, minSimilarity: number][] = [
  ['jfk.mp3', 'mp3', 11, 0.99],
  ['jfk.opus', 'ogg/opus', 11, 0.97],
  ['jfk.webm', 'webm/opus', 11, 0.98],
  ['jfk-3s.flac', 'flac', 3, 0.9999],
  ['jfk-3s.ogg', 'ogg/vorbis', 3, 0.98],
];

t.before(() => prepareOpus());

t.test('every format decodes to the source speech (correlation with jfk.wav)', async (t) => {
  for (const [name, format, seconds, minSimilarity] of FILES) {
    const decoded = await decodeAudioFile(audioFixture(name), LIMITS);
    t.equal(decoded.format, format, `${name} is ${format}`);
    t.ok(
      Math.abs(decoded.pcm.length / 16000 - seconds) < 0.02,
      `${name}: ${seconds} s (${decoded.pcm.length / 16000} s)`,
    );
    const r = similarity(jfk, decoded.pcm);
    t.ok(r >= minSimilarity, `${name}: correlation ${r.toFixed(4)} >= ${minSimilarity}`);
  }
  for (const [law, file] of [
    ['mulaw', 'jfk-8k.ulaw'],
    ['alaw', 'jfk-3s-8k.alaw'],
  ] as const) {
    const converter = new RawPcmConverter(law, 8000, 1);
    const bytes = audioFixture(file);
    const parts: Int16Array[] = [];
    // 20 ms frames, as telephony sends them.
    for (let at = 0; at < bytes.length; at += 160) parts.push(converter.push(bytes.subarray(at, at + 160)));
    parts.push(converter.flush());
    const pcm = concatPcm(parts);
    t.equal(pcm.length, bytes.length * 2, `${law}: 8 kHz doubles to 16 kHz`);
    t.ok(similarity(jfk, pcm) > 0.99, `${law}: correlation ${similarity(jfk, pcm).toFixed(4)}`);
  }
});

t.test('G.711 expands as ITU-T G.711 says', async (t) => {
  t.same(Array.from(expandG711(new Uint8Array([0x00, 0x7f, 0x80, 0xff]), 'mulaw')), [-32124, 0, 32124, 0]);
  t.same(Array.from(expandG711(new Uint8Array([0x55, 0xd5, 0x2a, 0xaa]), 'alaw')), [-8, 8, -32256, 32256]);
});

t.test('WAV in every common sample format decodes to the same audio', async (t) => {
  const pcm = jfk.subarray(0, 16000);
  const reference = await decodeAudioFile(encodeWav(pcm), LIMITS);
  t.same(reference.pcm, pcm, '16-bit 16 kHz mono is taken as it is');
  const stereo44 = encodeWav(new Int16Array(176_400), 44100, 2);
  t.equal((await decodeAudioFile(stereo44, LIMITS)).pcm.length, 32000, '2 s of 44.1 kHz stereo is 2 s at 16 kHz');
  const wav = (format: number, bits: number, body: Uint8Array): Uint8Array => {
    const file = new Uint8Array(44 + body.length);
    const view = new DataView(file.buffer);
    file.set(new TextEncoder().encode('RIFF'), 0);
    view.setUint32(4, 36 + body.length, true);
    file.set(new TextEncoder().encode('WAVEfmt '), 8);
    view.setUint32(16, 16, true);
    view.setUint16(20, format, true);
    view.setUint16(22, 1, true);
    view.setUint32(24, 16000, true);
    view.setUint32(28, (16000 * bits) / 8, true);
    view.setUint16(32, bits / 8, true);
    view.setUint16(34, bits, true);
    file.set(new TextEncoder().encode('data'), 36);
    view.setUint32(40, body.length, true);
    file.set(body, 44);
    return file;
  };
  const float = new Float32Array(pcm.length).map((_, i) => (pcm[i] as number) / 32768);
  const int24 = new Uint8Array(pcm.length * 3);
  for (let i = 0; i < pcm.length; i++) {
    int24[3 * i + 1] = (pcm[i] as number) & 0xff;
    int24[3 * i + 2] = ((pcm[i] as number) >> 8) & 0xff;
  }
  t.same((await decodeAudioFile(wav(3, 32, new Uint8Array(float.buffer)), LIMITS)).pcm, pcm, '32-bit float');
  t.same((await decodeAudioFile(wav(1, 24, int24), LIMITS)).pcm, pcm, '24-bit integer');
  const mulaw = audioFixture('jfk-8k.ulaw').subarray(0, 8000);
  const fromWav = (await decodeAudioFile(wav(7, 8, mulaw), LIMITS)).pcm;
  t.same(fromWav.subarray(0, 100), new RawPcmConverter('mulaw', 16000, 1).push(mulaw).subarray(0, 100), 'mu-law WAV');
});

t.test('limits: too long is refused before or while decoding, odd formats get a clear refusal', async (t) => {
  const short = { ...LIMITS, maxSeconds: 2 };
  for (const [name] of FILES) {
    await t.rejects(decodeAudioFile(audioFixture(name), short), { code: 'audio_too_long' }, `${name}: past 2 s`);
  }
  await t.rejects(decodeAudioFile(audioFixture('jfk-3s.m4a'), LIMITS), { code: 'unsupported_audio', message: /AAC/ });
  await t.rejects(decodeAudioFile(new TextEncoder().encode('definitely not audio'), LIMITS), {
    code: 'unsupported_audio',
  });
  await t.rejects(decodeAudioFile(encodeWav(new Int16Array(0)), LIMITS), { code: 'empty_audio' });
  await t.rejects(decodeAudioFile(encodeWav(new Int16Array(100), 1), LIMITS), {
    code: 'unsupported_audio',
    message: /1 Hz/,
  });
});

t.test('fuzz: truncated, bit-flipped and random files only ever give AudioDecodeError', async (t) => {
  const rand = random(20261207);
  const files = [...FILES.map(([name]) => audioFixture(name)), encodeWav(jfk.subarray(0, 8000))];
  for (const file of files) {
    const label = `${[...file.subarray(0, 4)].map((b) => b.toString(16)).join(' ')}`;
    for (const cut of [
      1,
      3,
      4,
      8,
      12,
      27,
      28,
      44,
      60,
      100,
      200,
      500,
      1000,
      4000,
      Math.floor(file.length / 2),
      file.length - 1,
    ]) {
      await decodesOrRefuses(t, file.subarray(0, Math.min(cut, file.length)), `${label} cut at ${cut}`);
    }
    for (let round = 0; round < 12; round++) {
      const flipped = file.slice();
      const flips = 1 + Math.floor(rand() * 64);
      for (let i = 0; i < flips; i++) {
        const at = Math.floor(rand() * flipped.length);
        flipped[at] = (flipped[at] as number) ^ (1 << Math.floor(rand() * 8));
      }
      await decodesOrRefuses(t, flipped, `${label} with ${flips} flipped bits (round ${round})`);
      // The container's magic kept, the rest random.
      const noise = new Uint8Array(2000 + Math.floor(rand() * 20000)).map(() => Math.floor(rand() * 256));
      noise.set(file.subarray(0, 64), 0);
      await decodesOrRefuses(t, noise, `${label} header then noise (round ${round})`);
    }
  }
  t.pass('no decoder crashed or threw anything but AudioDecodeError');
});

t.test('live containers: any cut of the stream gives the same audio; corrupt streams fail for good', async (t) => {
  for (const name of ['jfk.webm', 'jfk.opus']) {
    const bytes = audioFixture(name);
    const decode = (cuts: number[]): Int16Array => {
      // Room for the whole file in one call.
      const stream = new ContainerStream(15_000, BOUNDS);
      const parts: Int16Array[] = [];
      for (let at = 0, i = 0; at < bytes.length; i++) {
        const n = cuts[i % cuts.length] as number;
        parts.push(stream.push(bytes.subarray(at, at + n)));
        at += n;
      }
      return concatPcm(parts);
    };
    const whole = decode([bytes.length]);
    t.ok(similarity(jfk, whole) > 0.97, `${name}: the speech`);
    t.same(decode([1, 13, 250, 4096]), whole, `${name}: cut anywhere, the same samples`);
  }
  const rand = random(7);
  for (const name of ['jfk.webm', 'jfk.opus']) {
    const bytes = audioFixture(name);
    for (let round = 0; round < 20; round++) {
      const stream = new ContainerStream(5000, BOUNDS);
      const flipped = bytes.slice();
      for (let i = 0; i < 1 + round; i++) {
        const at = Math.floor(rand() * flipped.length);
        flipped[at] = (flipped[at] as number) ^ 0xff;
      }
      let failed: AudioDecodeError | null = null;
      for (let at = 0; at < flipped.length && !failed; at += 997) {
        try {
          stream.push(flipped.subarray(at, at + 997));
        } catch (error) {
          if (!(error instanceof AudioDecodeError)) throw error;
          if (error.code !== 'frame_too_large') failed = error;
        }
      }
      if (failed)
        t.throws(
          () => stream.push(new Uint8Array(10)),
          { message: /cannot go on/ },
          `${name} round ${round}: failed for good`,
        );
    }
  }
  t.throws(() => new ContainerStream(5000, BOUNDS).push(new TextEncoder().encode('hello, not audio')), {
    code: 'unsupported_audio',
  });
  // A burst of new streams takes every ready decoder: the audio of those left waiting comes with their next push.
  const webm = audioFixture('jfk.webm');
  const one = new ContainerStream(15_000, BOUNDS);
  const head = one.push(webm.subarray(0, 20_000));
  await one.ready();
  const reference = concatPcm([head, one.push(webm.subarray(20_000))]);
  const burst = Array.from({ length: 20 }, () => new ContainerStream(15_000, BOUNDS));
  const firsts = burst.map((stream) => stream.push(webm.subarray(0, 20_000)));
  t.ok(
    firsts.some((pcm) => pcm.length === 0),
    'some streams found no ready decoder',
  );
  await Promise.all(burst.map((stream) => stream.ready()));
  for (const [i, stream] of burst.entries())
    t.same(
      concatPcm([firsts[i] as Int16Array, stream.push(webm.subarray(20_000))]),
      reference,
      `stream ${i}: all of it, in order`,
    );
  t.throws(
    () => new ContainerStream(5000, BOUNDS, ['ogg', 'webm']).push(encodeWav(jfk.subarray(0, 100))),
    { code: 'unsupported_audio' },
    'WAV where only Opus is taken',
  );
  const tooMuch = new ContainerStream(1000, BOUNDS);
  t.throws(() => tooMuch.push(audioFixture('jfk.webm')), { code: 'frame_too_large' }, 'more than a call may carry');
});
