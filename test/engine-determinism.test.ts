// The same audio and options give the same result on every call, whatever ran before on the state, beam search
// included: the synthetic model's text changes completely with any change in what the decoder samples, so a single
// differing call shows.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { WhisperModel, fixturesDir, type TranscribeOptions, type TranscriptionResult } from '../engine/index.js';
import { TINY_EN, speech } from './helpers/engine-fixtures.js';
import { startTestServer } from './helpers/stream-server.js';

const jfk = speech('jfk.wav');
const clip = jfk.subarray(0, Math.round(16000 * 6.8));
const others = [jfk.subarray(16000, 16000 * 3), jfk.subarray(0, 16000 * 10), jfk.subarray(16000 * 4, 16000 * 5)];

const fingerprint = (result: TranscriptionResult): string =>
  JSON.stringify({
    text: result.text,
    tokens: result.segments.map((s) => s.tokens.map((token) => [token.id, token.p])),
  });

for (const [name, options] of [
  [
    'beam search with 3 beams',
    { beamSize: 3, audioCtx: 'auto', threads: 1, temperatureFallback: false, maxTokens: 32 },
  ],
  ['greedy decoding', { beamSize: 1, audioCtx: 'auto', threads: 1, temperatureFallback: false, maxTokens: 32 }],
  [
    'temperature fallback (sampling)',
    { beamSize: 1, audioCtx: 'auto', threads: 1, temperatureFallback: true, maxTokens: 32 },
  ],
] satisfies [string, TranscribeOptions][]) {
  t.test(
    `${name}: three calls with other calls of different lengths in between give identical text and tokens`,
    async (t) => {
      const model = new WhisperModel(TINY_EN);
      t.teardown(() => model.free());
      const results: string[] = [];
      for (const other of others) {
        results.push(fingerprint(await model.transcribe(clip, options)));
        await model.transcribe(other, { ...options, maxTokens: 8 });
      }
      t.equal(new Set(results).size, 1, 'identical every time');
      t.equal(
        fingerprint(await new WhisperModel(TINY_EN).transcribe(clip, options)),
        results[0],
        'and identical to a fresh state',
      );
    },
  );
}

t.test('the file endpoint returns identical JSON for the same upload twice', async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  const file = readFileSync(join(fixturesDir, 'speech', 'jfk.wav'));
  const upload = async (): Promise<string> => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(file)], { type: 'audio/wav' }), 'jfk.wav');
    form.append('response_format', 'verbose_json');
    const response = await fetch(`${app.httpUrl}/v1/audio/transcriptions`, { method: 'POST', body: form });
    t.equal(response.status, 200);
    return response.text();
  };
  const first = await upload();
  // A stream in between uses the same worker states with other audio.
  const form = new FormData();
  form.append(
    'file',
    new Blob([new Uint8Array(file.subarray(0, 44 + 16000 * 2 * 3))], { type: 'audio/wav' }),
    'short.wav',
  );
  await fetch(`${app.httpUrl}/v1/audio/transcriptions`, { method: 'POST', body: form });
  t.equal(await upload(), first);
});
