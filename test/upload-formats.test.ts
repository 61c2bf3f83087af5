/**
 * POST /v1/audio/transcriptions with the files OpenAI's file API takes, sent by OpenAI's own SDK: MP3, Ogg Opus, WebM
 * Opus, FLAC and Ogg Vorbis are decoded (correlation with the source is checked in test/unit/audio-codecs.test.ts)
 * and transcribed with segments over the whole audio; AAC in MP4 and non-audio get a clear 400 in OpenAI's shape.
 */
import { OpenAI, toFile } from 'openai';
import t from 'tap';
import { audioFixture } from './helpers/audio-fixtures.js';
import { startTestServer } from './helpers/stream-server.js';

// Greedy finals keep the synthetic model's decodes short.
const app = await startTestServer({ FINAL_BEAM_SIZE: '1' });
t.teardown(() => app.close());
const client = new OpenAI({ apiKey: 'unused', baseURL: `${app.httpUrl}/v1`, maxRetries: 0 });

const FILES: [name: string, type: string, seconds: number][] = [
  ['jfk.mp3', 'audio/mpeg', 11],
  ['jfk.opus', 'audio/ogg', 11.014],
  ['jfk.webm', 'audio/webm', 11.014],
  ['jfk-3s.flac', 'audio/flac', 3],
  ['jfk-3s.ogg', 'audio/ogg', 3],
];

for (const [name, type, seconds] of FILES) {
  t.test(`${name} through the SDK: verbose_json over the whole audio`, async (t) => {
    const file = await toFile(Buffer.from(audioFixture(name)), name, { type });
    const result = await client.audio.transcriptions.create({
      file,
      model: 'whisper-1',
      response_format: 'verbose_json',
      timestamp_granularities: ['segment'],
    });
    t.ok(Math.abs(result.duration - seconds) < 0.02, `duration ${result.duration} s`);
    const segments = result.segments ?? [];
    t.ok(segments.length >= 1, `segments (${segments.length})`);
    t.ok(
      segments.every((s) => s.start >= 0 && s.end >= s.start && s.end <= 30),
      'segment times within the window',
    );
    t.ok((segments[0]?.start ?? Infinity) < 1, 'from the start of the audio');
  });
}

t.test('what is not read gets 400 in OpenAI shape, through the SDK', async (t) => {
  const m4a = await toFile(Buffer.from(audioFixture('jfk-3s.m4a')), 'jfk.m4a', { type: 'audio/mp4' });
  await t.rejects(client.audio.transcriptions.create({ file: m4a, model: 'whisper-1' }), {
    status: 400,
    code: 'unsupported_audio',
    message: /AAC/,
  });
  const text = await toFile(Buffer.from('not audio at all'), 'a.mp3', { type: 'audio/mpeg' });
  await t.rejects(client.audio.transcriptions.create({ file: text, model: 'whisper-1' }), {
    status: 400,
    code: 'unsupported_audio',
    message: /MP3, FLAC/,
  });
  const mp3 = audioFixture('jfk.mp3');
  const truncated = await toFile(Buffer.from(mp3.subarray(0, 3000)), 'cut.mp3', { type: 'audio/mpeg' });
  const cut = await client.audio.transcriptions.create({
    file: truncated,
    model: 'whisper-1',
    response_format: 'verbose_json',
  });
  t.ok(cut.duration > 0 && cut.duration < 1, `a cut MP3 gives what it holds (${cut.duration} s)`);
});
