/**
 * The OpenAI file endpoints with OpenAI's own SDK: streamed transcriptions (server-sent events), translations, and
 * word timestamps in verbose_json. The synthetic models give nonsense words, so behaviour is asserted, not text.
 */
import { OpenAI, toFile } from 'openai';
import t from 'tap';
import { encodeWav } from '../engine/audio/wav.js';
import { speech, TINY } from './helpers/engine-fixtures.js';
import { startTestServer } from './helpers/stream-server.js';

const jfk = speech('jfk.wav');
/** Four times jfk.wav, 44 s: two of Whisper's 30 s windows, so a stream has more than one delta to give. */
const long = new Int16Array(jfk.length * 4);
for (let i = 0; i < 4; i++) long.set(jfk, i * jfk.length);
const wav = (pcm: Int16Array): Promise<File> =>
  toFile(Buffer.from(encodeWav(pcm)), 'speech.wav', { type: 'audio/wav' });

// Greedy finals keep the synthetic model's decodes short.
const english = await startTestServer({ FINAL_BEAM_SIZE: '1' });
t.teardown(() => english.close());
const client = new OpenAI({ apiKey: 'unused', baseURL: `${english.httpUrl}/v1`, maxRetries: 0 });

t.test('stream=true: transcript.text.delta per window, then transcript.text.done, through the SDK', async (t) => {
  const stream = await client.audio.transcriptions.create({
    file: await wav(long),
    model: 'gpt-4o-transcribe',
    stream: true,
  });
  const events = [];
  for await (const event of stream) events.push(event);
  const deltas = events.filter((e) => e.type === 'transcript.text.delta');
  const done = events.filter((e) => e.type === 'transcript.text.done');
  t.ok(deltas.length >= 2, `a delta per 30 s window (${deltas.length})`);
  t.equal(done.length, 1, 'one done event');
  t.equal(events.at(-1)?.type, 'transcript.text.done', 'done comes last');
  const text = done[0]?.type === 'transcript.text.done' ? done[0].text : '';
  t.ok(text.length > 0, 'the done event has the text');
  t.equal(
    deltas.map((d) => (d.type === 'transcript.text.delta' ? d.delta : '')).join(''),
    text,
    'the deltas put together are the text',
  );
});

t.test('stream=true on the wire: server-sent events with a data line each', async (t) => {
  const body = new FormData();
  body.append('file', await wav(jfk));
  body.append('stream', 'true');
  const res = await fetch(`${english.httpUrl}/v1/audio/transcriptions`, { method: 'POST', body });
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/event-stream/);
  const events = (await res.text()).split('\n\n').filter((block) => block !== '');
  t.ok(
    events.every((block) => block.startsWith('data: ')),
    'every event is a data line',
  );
  t.match(JSON.parse(events.at(-1)?.slice(6) ?? '{}'), { type: 'transcript.text.done', text: String });
});

t.test('stream takes "true" or "false", and not with verbose_json', async (t) => {
  const refused = async (fields: Record<string, string>, param: string): Promise<void> => {
    const body = new FormData();
    body.append('file', await wav(jfk.subarray(0, 16000)));
    for (const [name, value] of Object.entries(fields)) body.append(name, value);
    const res = await fetch(`${english.httpUrl}/v1/audio/transcriptions`, { method: 'POST', body });
    t.equal(res.status, 400);
    t.match(await res.json(), { error: { type: 'invalid_request_error', code: 'invalid_value', param } });
  };
  await refused({ stream: 'yes' }, 'stream');
  await refused({ stream: 'true', response_format: 'verbose_json' }, 'stream');
});

t.test('verbose_json with timestamp_granularities[]=word returns words with times', async (t) => {
  const result = await client.audio.transcriptions.create({
    file: await wav(jfk),
    model: 'whisper-1',
    response_format: 'verbose_json',
    timestamp_granularities: ['word'],
  });
  const words = result.words ?? [];
  t.ok(words.length > 0, `words (${words.length})`);
  t.ok(
    words.every((w) => typeof w.word === 'string' && w.word.length > 0),
    'each word has its text',
  );
  // Within Whisper's window, as segment times are (the synthetic model's timestamps may overshoot the 11 s of audio).
  t.ok(
    words.every((w) => w.start >= 0 && w.end >= w.start && w.end <= 30),
    'times within the window',
  );
  t.ok(
    words.every((w, i) => i === 0 || w.start >= (words[i - 1]?.start ?? 0)),
    'in order',
  );
  t.notOk(result.segments, 'segments only when asked for');
});

t.test('translations: an English-only model refuses in OpenAI error shape', async (t) => {
  const error = await client.audio.translations.create({ file: await wav(jfk), model: 'whisper-1' }).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(error instanceof OpenAI.APIError, 'the SDK raises an API error');
  if (error instanceof OpenAI.APIError) {
    t.equal(error.status, 400);
    t.equal(error.code, 'translation_unavailable');
    t.equal(error.type, 'invalid_request_error');
    t.match(error.message, /English-only/);
  }
});

t.test('translations with a multilingual model: the same form, English text back', async (t) => {
  const multilingual = await startTestServer({ WHISPER_MODEL: TINY, FINAL_BEAM_SIZE: '1' });
  t.teardown(() => multilingual.close());
  const translator = new OpenAI({ apiKey: 'unused', baseURL: `${multilingual.httpUrl}/v1`, maxRetries: 0 });
  const plain = await translator.audio.translations.create({ file: await wav(jfk), model: 'whisper-1' });
  t.type(plain.text, 'string');
  const verbose = await translator.audio.translations.create({
    file: await wav(jfk),
    model: 'whisper-1',
    response_format: 'verbose_json',
  });
  t.match(verbose, { language: 'english', duration: Number, text: String, segments: Array });
});
