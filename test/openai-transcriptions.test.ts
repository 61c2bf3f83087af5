import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { fixturesDir } from '../engine/index.js';
import { hashApiKey } from '../server/auth/authenticator.js';
import { startTestServer } from './helpers/stream-server.js';

const jfkPath = join(fixturesDir, 'speech', 'jfk.wav');
const jfk = readFileSync(jfkPath);

function form(fields: Record<string, string>, file: Buffer | null = jfk): FormData {
  const body = new FormData();
  if (file) body.append('file', new Blob([new Uint8Array(file)], { type: 'audio/wav' }), 'audio.wav');
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  return body;
}

const app = await startTestServer({ MAX_UPLOAD_BYTES: String(jfk.length + 1024) });
t.teardown(() => app.close());
const endpoint = `${app.httpUrl}/v1/audio/transcriptions`;

t.test('the official request shape: curl -F file=@jfk.wav -F model=whisper-1', async (t) => {
  const { stdout } = await promisify(execFile)('curl', [
    '-sS',
    '-f',
    endpoint,
    '-F',
    `file=@${jfkPath}`,
    '-F',
    'model=whisper-1',
  ]);
  const body = JSON.parse(stdout) as { text: unknown };
  t.same(Object.keys(body), ['text']);
  t.type(body.text, 'string');
});

t.test('response formats: json, text and verbose_json with segments', async (t) => {
  const text = await fetch(endpoint, { method: 'POST', body: form({ model: 'whisper-1', response_format: 'text' }) });
  t.equal(text.status, 200);
  t.match(text.headers.get('content-type'), /^text\/plain/);
  t.ok((await text.text()).endsWith('\n'));

  const verbose = await fetch(endpoint, {
    method: 'POST',
    body: form({ response_format: 'verbose_json', language: 'en', prompt: 'Ask not' }),
  });
  t.equal(verbose.status, 200);
  const body = (await verbose.json()) as {
    task: string;
    language: string;
    duration: number;
    text: string;
    segments: { start: number; end: number }[];
  };
  t.equal(body.task, 'transcribe');
  t.equal(body.language, 'english');
  t.ok(Math.abs(body.duration - 11) < 0.01, `duration of jfk.wav (${body.duration})`);
  t.ok(body.segments.length >= 1, 'segments');
  t.ok(
    body.segments.every((s) => s.start >= 0 && s.end >= s.start && s.end <= 30),
    'segment times within the audio window',
  );
});

t.test('clear 4xx errors in OpenAI error shape', async (t) => {
  const expectError = async (init: RequestInit, status: number, code: string): Promise<void> => {
    const res = await fetch(endpoint, { method: 'POST', ...init });
    t.equal(res.status, status, `${code}: status`);
    t.match(await res.json(), { error: { code, message: String, type: 'invalid_request_error' } }, code);
  };
  await expectError({ body: form({}, null) }, 400, 'missing_file');
  await expectError({ body: form({}, Buffer.from('definitely not a wav file')) }, 400, 'unsupported_audio');
  await expectError({ body: form({ response_format: 'srt' }) }, 400, 'unsupported_response_format');
  await expectError({ body: form({ language: 'xx' }) }, 400, 'unknown_language');
  await expectError({ body: form({}, Buffer.concat([jfk, Buffer.alloc(4096)])) }, 413, 'file_too_large');
  await expectError({ body: 'plain text', headers: { 'content-type': 'text/plain' } }, 400, 'invalid_request');
});

t.test('the same authentication as streaming', async (t) => {
  const secured = await startTestServer({ API_KEY_HASHES: hashApiKey('sk-test') });
  t.teardown(() => secured.close());
  const url = `${secured.httpUrl}/v1/audio/transcriptions`;
  const refused = await fetch(url, { method: 'POST', body: form({}) });
  t.equal(refused.status, 401);
  t.match(await refused.json(), { error: { code: 'unauthorized' } });
  const accepted = await fetch(url, { method: 'POST', body: form({}), headers: { authorization: 'Bearer sk-test' } });
  t.equal(accepted.status, 200);
});
