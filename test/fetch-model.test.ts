import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { projectRoot } from '../engine/paths.js';
import { findModelFile } from '../engine/models/catalog.js';
import { ModelFetchError, fetchModel } from '../engine/models/download.js';
import { DownloadProgress } from '../engine/models/progress.js';

const NAME = 'silero-v6.2.0';
const FILE = 'ggml-silero-v6.2.0.bin';
// The fetch tests serve the real Silero model that the repository carries.
const sharedCopy = join(projectRoot, 'engine', 'assets', FILE);
const MODEL = findModelFile(NAME);
if (!MODEL) throw new Error(`${NAME} is not in the model catalog`);

const root = await mkdtemp(join(tmpdir(), 'fetch-model-test-'));
t.teardown(() => rm(root, { recursive: true, force: true }));

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

type Mode = 'normal' | 'ignore-range' | 'corrupt' | 'cut-short' | 'not-found';

interface Mirror {
  baseUrl: string;
  requests: { url: string; range: string | undefined; status: number }[];
  mode: Mode;
  close(): Promise<void>;
}

const CUT_AT = 300_000;

/** A real HTTP server with Range support, serving one file the way a mirror would (or misbehaving on request). */
async function startMirror(content: Buffer): Promise<Mirror> {
  const corrupt = Buffer.from(content);
  const middle = corrupt.length >> 1;
  corrupt[middle] = (corrupt[middle] as number) ^ 0xff;
  const mirror: Mirror = { baseUrl: '', requests: [], mode: 'normal', close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const record = (status: number): void =>
      void mirror.requests.push({ url: req.url ?? '', range: req.headers.range, status });
    if (req.url !== `/${FILE}` || mirror.mode === 'not-found') {
      record(404);
      res.writeHead(404).end('not found');
      return;
    }
    const body = mirror.mode === 'corrupt' ? corrupt : content;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && mirror.mode !== 'ignore-range') {
      const start = Number(range[1]);
      if (start >= body.length) {
        record(416);
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      record(206);
      res.writeHead(206, {
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
        'content-length': body.length - start,
      });
      res.end(body.subarray(start));
      return;
    }
    record(200);
    res.writeHead(200, { 'content-length': body.length });
    if (mirror.mode === 'cut-short') {
      // Close the connection cleanly mid-body, as a dropped download does: the client gets exactly CUT_AT bytes.
      res.write(body.subarray(0, CUT_AT), () => res.socket?.end());
      return;
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  mirror.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  mirror.close = () => new Promise((resolve) => server.close(() => resolve()));
  return mirror;
}

async function freshDir(name: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(projectRoot, 'dist/scripts/fetch-model.js'), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A port nothing listens on: bind an ephemeral one, then let it go. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

t.test('catalog entry matches the bundled Silero file', async (t) => {
  const model = MODEL;
  const data = await readFile(sharedCopy);
  t.equal(data.length, model.bytes);
  t.equal(sha256(data), model.sha256);
});

t.test('downloads from a mirror', async (t) => {
  const served = join(await freshDir('served'), FILE);
  await copyFile(sharedCopy, served);
  const content = await readFile(served);
  const mirror = await startMirror(content);
  t.teardown(() => mirror.close());
  const quiet = { progress: null, baseUrl: mirror.baseUrl };

  t.test('fresh download verifies and lands under the final name', async (t) => {
    const outDir = await freshDir('fresh');
    const result = await fetchModel(NAME, { ...quiet, outDir });
    t.equal(result.outcome, 'downloaded');
    t.equal(result.path, join(outDir, FILE));
    t.equal(result.url, `${mirror.baseUrl}/${FILE}`);
    t.equal(sha256(await readFile(result.path)), MODEL.sha256);
    t.notOk(existsSync(`${result.path}.part`), 'no .part left');
  });

  t.test('a present, good file is skipped without a request', async (t) => {
    const outDir = await freshDir('present');
    await copyFile(served, join(outDir, FILE));
    const before = mirror.requests.length;
    const notes: string[] = [];
    const result = await fetchModel(NAME, { ...quiet, outDir, log: (l) => notes.push(l) });
    t.equal(result.outcome, 'skipped');
    t.equal(mirror.requests.length, before, 'no request made');
    t.match(notes.join('\n'), /already present and verified/);
  });

  t.test('a partial .part file is resumed with a Range request', async (t) => {
    const outDir = await freshDir('partial');
    await writeFile(join(outDir, `${FILE}.part`), content.subarray(0, 400_000));
    const result = await fetchModel(NAME, { ...quiet, outDir });
    t.equal(result.outcome, 'resumed');
    t.same(mirror.requests.at(-1), { url: `/${FILE}`, range: 'bytes=400000-', status: 206 });
    t.equal(sha256(await readFile(result.path)), MODEL.sha256);
    t.notOk(existsSync(`${result.path}.part`));
  });

  t.test('a dropped connection keeps the .part, and the next run resumes it', async (t) => {
    const outDir = await freshDir('dropped');
    mirror.mode = 'cut-short';
    t.teardown(() => {
      mirror.mode = 'normal';
    });
    const failure = fetchModel(NAME, { ...quiet, outDir });
    await t.rejects(failure, { name: 'ModelFetchError', message: /\d+ of 885098 bytes.*kept at .*\.part/s });
    // The client may be told of the close before it has read every byte sent: what it kept is a prefix of the file.
    const kept = (await stat(join(outDir, `${FILE}.part`))).size;
    t.ok(kept > 0 && kept <= CUT_AT, `the .part holds what arrived (${kept} of the ${CUT_AT} bytes sent)`);
    const said = await failure.then(
      () => '',
      (error: unknown) => String(error),
    );
    t.match(said, new RegExp(`${kept} of 885098 bytes`), 'the error says how much was kept');
    t.notOk(existsSync(join(outDir, FILE)));

    mirror.mode = 'normal';
    const result = await fetchModel(NAME, { ...quiet, outDir });
    t.equal(result.outcome, 'resumed');
    t.equal(mirror.requests.at(-1)?.range, `bytes=${kept}-`);
    t.equal(sha256(await readFile(result.path)), MODEL.sha256);
  });

  t.test('a server that ignores Range makes it start over', async (t) => {
    const outDir = await freshDir('ignore-range');
    await writeFile(join(outDir, `${FILE}.part`), Buffer.alloc(500_000, 0x55));
    mirror.mode = 'ignore-range';
    t.teardown(() => {
      mirror.mode = 'normal';
    });
    const result = await fetchModel(NAME, { ...quiet, outDir });
    t.equal(result.outcome, 'downloaded');
    t.same(mirror.requests.at(-1), { url: `/${FILE}`, range: 'bytes=500000-', status: 200 });
    t.equal(sha256(await readFile(result.path)), MODEL.sha256, 'stale partial bytes discarded');
  });

  t.test('wrong bytes fail the checksum and leave no file', async (t) => {
    const outDir = await freshDir('corrupt');
    mirror.mode = 'corrupt';
    t.teardown(() => {
      mirror.mode = 'normal';
    });
    await t.rejects(fetchModel(NAME, { ...quiet, outDir }), {
      name: 'ModelFetchError',
      message: new RegExp(`${FILE}.*checksum mismatch.*place it at\\s+${join(outDir, FILE)}`, 's'),
    });
    t.notOk(existsSync(join(outDir, FILE)), 'nothing under the final name');
    t.notOk(existsSync(join(outDir, `${FILE}.part`)), 'bad download deleted');
  });

  t.test('a bad file under the final name is replaced only by a verified download', async (t) => {
    const outDir = await freshDir('replace');
    await writeFile(join(outDir, FILE), Buffer.alloc(1000));
    const notes: string[] = [];
    const result = await fetchModel(NAME, { ...quiet, outDir, log: (l) => notes.push(l) });
    t.equal(result.outcome, 'downloaded');
    t.match(notes.join('\n'), /present but it is 1000 bytes/);
    t.equal(sha256(await readFile(result.path)), MODEL.sha256);
  });

  t.test('HTTP errors name the status', async (t) => {
    mirror.mode = 'not-found';
    t.teardown(() => {
      mirror.mode = 'normal';
    });
    await t.rejects(fetchModel(NAME, { ...quiet, outDir: await freshDir('404') }), { message: /HTTP 404/ });
  });

  t.test('CLI downloads from MODEL_BASE_URL with plain progress lines', async (t) => {
    const outDir = await freshDir('cli');
    const run = await runCli([NAME, '--out', outDir], { MODEL_BASE_URL: mirror.baseUrl });
    t.equal(run.code, 0, run.stderr);
    t.match(run.stderr, `${FILE}: downloading 0.9 MB`);
    t.match(run.stderr, /100\.0%\s+0\.9\/0\.9 MB .* done/);
    t.notMatch(run.stderr, '\r', 'no carriage returns when stderr is not a terminal');
    t.match(run.stdout, `${FILE}: verified, saved to ${join(outDir, FILE)}`);
    t.equal(sha256(await readFile(join(outDir, FILE))), MODEL.sha256);
  });
});

t.test('an unreachable host fails with the manual alternative', async (t) => {
  const baseUrl = `http://127.0.0.1:${await closedPort()}`;
  const outDir = await freshDir('offline');
  const model = MODEL;
  const error = await fetchModel(NAME, { baseUrl, outDir, progress: null }).catch((err: unknown) => err);
  t.type(error, ModelFetchError);
  const message = (error as Error).message;
  t.match(message, `Cannot download ${FILE} from ${baseUrl}/${FILE}: connection refused (ECONNREFUSED)`);
  t.match(message, `place it at\n  ${join(outDir, FILE)}`);
  t.match(message, model.sha256);
  t.match(message, '885,098 bytes');
  t.notOk(existsSync(join(outDir, FILE)));

  const run = await runCli([NAME, '--out', outDir], { MODEL_BASE_URL: baseUrl });
  t.equal(run.code, 1);
  t.match(run.stderr, `error: Cannot download ${FILE}`);
  t.match(run.stderr, 'place it at');
  t.notMatch(run.stderr, /^\s+at /m, 'no stack trace');
});

t.test('unknown names are rejected', async (t) => {
  await t.rejects(fetchModel('huge.en', { progress: null, outDir: root }), {
    name: 'ModelFetchError',
    message: /Unknown model "huge.en".*tiny\.en/,
  });
  const run = await runCli(['huge.en'], {});
  t.equal(run.code, 2);
  t.match(run.stderr, 'Unknown model name: huge.en');
});

t.test('progress output', async (t) => {
  let clock = 0;
  const now = (): number => clock;
  const capture = (isTTY: boolean): { text: string; write(s: string): boolean; isTTY: boolean } => ({
    text: '',
    isTTY,
    write(s: string) {
      this.text += s;
      return true;
    },
  });

  const plain = capture(false);
  const p = new DownloadProgress('file.bin', 10_000_000, plain, { now, lineIntervalMs: 5000 });
  p.start(0);
  clock = 1000;
  p.update(2_000_000);
  t.equal(plain.text, 'file.bin: downloading 10.0 MB\n', 'no line before the interval');
  clock = 5000;
  p.update(5_000_000);
  t.match(plain.text, 'file.bin:  50.0%  5.0/10.0 MB  1.0 MB/s\n');
  clock = 10_000;
  p.update(10_000_000);
  p.finish(true);
  t.match(plain.text, /100\.0% {2}10\.0\/10\.0 MB {2}1\.0 MB\/s done\n$/);

  const tty = capture(true);
  clock = 0;
  const q = new DownloadProgress('file.bin', 10_000_000, tty, { now, redrawIntervalMs: 100 });
  q.start(5_000_000);
  clock = 1000;
  q.update(7_500_000);
  t.match(
    tty.text,
    /^\rfile\.bin \[#{18}\.{6}\] {2}75\.0% {2}7\.5\/10\.0 MB {2}2\.5 MB\/s/,
    'redrawn bar, rate counts only new bytes',
  );
  q.finish(false);
  t.match(tty.text, /\n$/, 'the last redraw ends the line');
});
