import t from 'tap';
import { native } from '../engine/index.js';
import { StreamClient } from '../bench/lib/raw-stream-client.js';
import { checkOrdering, checkShapes } from './helpers/stream-checks.js';
import { startTestServer } from './helpers/stream-server.js';
import { TINY, speech } from './helpers/engine-fixtures.js';

const clip = speech('6930-75918-0000.wav');
const codes = new Set(native.languages().map((l) => l.code));

async function transcribe(url: string, first: unknown[]): Promise<StreamClient> {
  const client = await StreamClient.connect(url);
  for (const message of first) client.sendJson(message);
  await client.stream(clip, { speed: 4, frameMs: 20 });
  await client.end();
  return client;
}

t.test('multilingual model', async (t) => {
  const app = await startTestServer({ WHISPER_MODEL: TINY });
  t.teardown(() => app.close());

  t.test('{"language":"te"} makes the engine transcribe Telugu', async (t) => {
    const client = await transcribe(app.streamUrl, [{ language: 'te' }]);
    const transcripts = checkShapes(
      t,
      client.messages.map((m) => m.data),
    );
    checkOrdering(t, transcripts);
    t.ok(
      transcripts.some((m) => m.is_final),
      'a final',
    );
    // The language field is the engine result's language: what the decoder was actually given.
    for (const m of transcripts) t.equal(m.language, 'te', `seq ${m.seq} is Telugu`);
    t.same(client.errors(), []);
  });

  t.test('no language message means DEFAULT_LANGUAGE (en)', async (t) => {
    const client = await transcribe(app.streamUrl, []);
    const transcripts = checkShapes(
      t,
      client.messages.map((m) => m.data),
    );
    t.ok(transcripts.length > 0);
    for (const m of transcripts) t.equal(m.language, 'en');
  });

  t.test('an unknown code is refused and the session keeps the default', async (t) => {
    const client = await transcribe(app.streamUrl, [{ language: 'xx' }]);
    t.match(client.errors(), [{ code: 'unknown_language' }]);
    const transcripts = checkShapes(
      t,
      client.messages.map((m) => m.data),
    );
    t.ok(transcripts.length > 0);
    for (const m of transcripts) t.equal(m.language, 'en');
  });

  t.test('auto detects a language from the audio', async (t) => {
    const client = await transcribe(app.streamUrl, [{ language: 'auto' }]);
    const transcripts = checkShapes(
      t,
      client.messages.map((m) => m.data),
    );
    t.ok(transcripts.length > 0);
    for (const m of transcripts) t.ok(codes.has(m.language), `a known code (${m.language})`);
  });

  t.test('a language message after audio applies from the next utterance', async (t) => {
    const client = await StreamClient.connect(app.streamUrl);
    await client.stream(clip, { speed: 4, frameMs: 20 });
    client.sendJson({ type: 'flush' });
    client.sendJson({ language: 'de' });
    await client.stream(clip, { speed: 4, frameMs: 20 });
    await client.end();
    const transcripts = checkShapes(
      t,
      client.messages.map((m) => m.data),
    );
    checkOrdering(t, transcripts);
    const bySegment = new Map(transcripts.map((m) => [m.segment_id, m.language]));
    t.same([...new Set(bySegment.values())], ['en', 'de'], 'English first, then German');
  });
});

t.test('DEFAULT_LANGUAGE is what sessions without a language message get', async (t) => {
  const app = await startTestServer({ WHISPER_MODEL: TINY, DEFAULT_LANGUAGE: 'de' });
  t.teardown(() => app.close());
  const client = await transcribe(app.streamUrl, []);
  const transcripts = checkShapes(
    t,
    client.messages.map((m) => m.data),
  );
  t.ok(transcripts.length > 0);
  for (const m of transcripts) t.equal(m.language, 'de');
});

t.test('an English-only model refuses other languages but keeps serving English', async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  const client = await transcribe(app.streamUrl, [{ language: 'te' }]);
  t.match(client.errors(), [{ code: 'unsupported_language' }]);
  const transcripts = checkShapes(
    t,
    client.messages.map((m) => m.data),
  );
  t.ok(transcripts.length > 0);
  for (const m of transcripts) t.equal(m.language, 'en');
});

t.test('a DEFAULT_LANGUAGE the model cannot serve stops the server from starting', async (t) => {
  await t.rejects(startTestServer({ DEFAULT_LANGUAGE: 'te' }), { name: 'ConfigError', message: /DEFAULT_LANGUAGE/ });
  await t.rejects(startTestServer({ DEFAULT_LANGUAGE: 'klingon' }), {
    name: 'ConfigError',
    message: /unknown language/,
  });
});
