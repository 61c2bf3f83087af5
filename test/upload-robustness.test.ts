// Uploads that stop halfway, WAV headers built to be slow to read, and streamed uploads whose client left: none may
// keep a slot, stall the event loop or cost transcription for nobody (issue 24, rows 5, 13 and 15).
import { request, type ClientRequest } from 'node:http';
import t from 'tap';
import { encodeWav } from '../engine/index.js';
import { speech } from './helpers/engine-fixtures.js';
import { startTestServer } from './helpers/stream-server.js';
import { waitForStats, type ServerStats } from './helpers/server-stats.js';

const jfk = speech('jfk.wav');
const BOUNDARY = 'upload-robustness-boundary';

/** The head of a multipart body whose file part starts right after it. */
function multipartHead(fields: Record<string, string>): Buffer {
  const parts = Object.entries(fields).map(
    ([name, value]) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  const disposition = 'Content-Disposition: form-data; name="file"; filename="a.wav"';
  const file = `--${BOUNDARY}\r\n${disposition}\r\nContent-Type: audio/wav\r\n\r\n`;
  return Buffer.from(`${parts.join('')}${file}`);
}

const multipartTail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);

/** A POST to the upload route that declares `length` bytes; the caller writes (some of) them. */
function post(url: string, length: number): ClientRequest {
  const req = request(`${url}/v1/audio/transcriptions`, {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': String(length) },
  });
  // The server may answer or the test may cut the connection: neither is an error here.
  req.on('error', () => undefined);
  return req;
}

function upload(url: string, file: Uint8Array): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(file)], { type: 'audio/wav' }), 'a.wav');
  return fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form });
}

/** Transcriptions of upload windows the server has run, by how they ended, from /metrics. */
async function uploadRuns(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let runs = 0;
  for (const match of text.matchAll(/^stt_transcriptions_total\{kind="upload",end="[a-z]+"\} (\d+)$/gm))
    runs += Number(match[1]);
  return runs;
}

const uploadsInProgress = (count: number) => (stats: ServerStats) => stats.uploads?.inProgress === count;

t.test('uploads dropped mid-body give their slots back (row 5)', async (t) => {
  const app = await startTestServer({ UPLOADS_PER_PRINCIPAL: '2' });
  t.teardown(() => app.close());
  const head = multipartHead({ model: 'whisper-1' });
  const dropped = [post(app.httpUrl, 400_000), post(app.httpUrl, 400_000)];
  for (const req of dropped) req.write(head);
  await waitForStats(app.httpUrl, uploadsInProgress(2), 'both cut uploads admitted');
  for (const req of dropped) req.destroy();
  await waitForStats(app.httpUrl, uploadsInProgress(0), 'the slots of the cut uploads released');
  const after = await upload(app.httpUrl, encodeWav(jfk.subarray(0, 2 * 16000)));
  t.equal(after.status, 200, 'the same address uploads again');
});

t.test('a WAV with 100,000 empty chunks before its data is refused without walking them (row 13)', async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  const wav = encodeWav(jfk.subarray(0, 16000));
  const junk = Buffer.alloc(100_000 * 8);
  for (let at = 0; at < junk.length; at += 8) junk.write('junk', at, 'latin1');
  // RIFF header and fmt chunk, the empty chunks, then the data chunk.
  const file = Buffer.concat([wav.subarray(0, 36), junk, wav.subarray(36)]);
  file.writeUInt32LE(file.length - 8, 4);
  const res = await upload(app.httpUrl, file);
  t.equal(res.status, 400);
  t.match(await res.json(), { error: { code: 'bad_audio', message: /chunks/ } });
  t.equal((await upload(app.httpUrl, wav)).status, 200, 'a plain WAV still goes through');
});

t.test('a streamed upload whose client left stops being transcribed (row 15)', async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  // 150 s of speech: five 30 s windows.
  const long = new Int16Array(150 * 16000);
  for (let at = 0; at < long.length; at += jfk.length)
    long.set(jfk.subarray(0, Math.min(jfk.length, long.length - at)), at);
  const head = multipartHead({ model: 'whisper-1', stream: 'true' });
  const file = encodeWav(long);
  const req = post(app.httpUrl, head.length + file.length + multipartTail.length);
  req.write(head);
  req.write(file);
  req.end(multipartTail);
  await new Promise<void>((resolve) => req.once('finish', resolve));
  // The client hangs up once its body is out, as a closed browser tab does.
  req.destroy();
  await waitForStats(app.httpUrl, uploadsInProgress(0), 'the abandoned upload ended');
  const runs = await uploadRuns(app.httpUrl);
  t.ok(runs <= 1, `at most the window running when the client left was transcribed (${runs} of 5)`);
});
