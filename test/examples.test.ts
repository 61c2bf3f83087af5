// The examples in examples/ run as a user would run them (child processes importing the package by name) against a
// real server, and print what their comments promise; the resume example survives a connection cut mid-stream.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import t from 'tap';
import { projectRoot } from '../engine/index.js';
import { TINY_EN, speech } from './helpers/engine-fixtures.js';
import { EDGE_SLACK_MS } from './helpers/stream-checks.js';
import { startTestServer, vadRegions } from './helpers/stream-server.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

const examplesDir = join(projectRoot, 'examples');

interface Run {
  code: number | null;
  lines: string[];
  stderr: string;
}

/** Runs examples/`name` with `args`; `onLine` sees each stdout line as it is printed. */
async function runExample(
  name: string,
  args: string[],
  onLine: (line: string) => void = () => undefined,
): Promise<Run> {
  const child = spawn(process.execPath, [join(examplesDir, name), ...args], {
    cwd: projectRoot,
    env: { ...process.env, WHISPER_MODEL: TINY_EN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    onLine(line);
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, lines, stderr };
}

const SEGMENT_LINE = /^\[\d+\.\d{2} s - \d+\.\d{2} s\] /;

const app = await startTestServer();
t.teardown(() => app.close());

t.test(
  'the examples import only Node built-ins and the package by name, so they run unchanged in a user project',
  async (t) => {
    const files = readdirSync(examplesDir).filter((f) => f.endsWith('.mjs'));
    t.same(files.sort(), ['stream-with-resume.mjs', 'transcribe-file.mjs', 'upload-file.mjs']);
    for (const file of files) {
      const specifiers = [
        ...readFileSync(join(examplesDir, file), 'utf8').matchAll(/^import .* from '([^']+)';$/gm),
      ].map((m) => m[1] as string);
      t.ok(specifiers.length > 0, `${file} has imports`);
      for (const specifier of specifiers)
        t.match(specifier, /^(node:|whisper-stream-server(\/|$))/, `${file} imports ${specifier}`);
    }
  },
);

t.test('transcribe-file.mjs transcribes jfk.wav with the library', async (t) => {
  const run = await runExample('transcribe-file.mjs', []);
  t.equal(run.code, 0, run.stderr);
  t.equal(run.lines[0], `model: ${TINY_EN}`, 'the model WHISPER_MODEL names');
  t.ok(
    run.lines.some((line) => SEGMENT_LINE.test(line)),
    'segments with times',
  );
  t.match(run.lines.at(-2), /^text: /);
  t.match(run.lines.at(-1), /^took \d+ ms \(encoder \d+ ms\)$/);
});

t.test('upload-file.mjs gets a verbose_json transcription from POST /v1/audio/transcriptions', async (t) => {
  const run = await runExample('upload-file.mjs', ['', `${app.httpUrl}/v1/audio/transcriptions`]);
  t.equal(run.code, 0, run.stderr);
  t.ok(
    run.lines.some((line) => SEGMENT_LINE.test(line)),
    'segments with times',
  );
  t.match(run.lines.at(-2), /^text: /);
  t.equal(run.lines.at(-1), 'duration: 11 s, language: english');
});

t.test('upload-file.mjs reports the server error and exits 1', async (t) => {
  const run = await runExample('upload-file.mjs', [
    join(projectRoot, 'fixtures', 'speech', 'jfk.txt'),
    `${app.httpUrl}/v1/audio/transcriptions`,
  ]);
  t.equal(run.code, 1);
  t.match(run.stderr, /^HTTP 400: the file is in no format this server reads/);
});

t.test(
  'stream-with-resume.mjs prints finals for all of jfk.wav although its connection is cut mid-stream',
  async (t) => {
    const proxy = await TcpProxy.start(Number(new URL(app.streamUrl).port));
    t.teardown(() => proxy.close());
    let printed = 0;
    /** How many lines were printed when the connection was cut. */
    let cutAt: number | undefined;
    // Cut at the first transcript, as a network drop would: usually a partial, inside the first utterance; on a
    // machine too busy for partials, the first utterance's final, with three utterances still to stream.
    const run = await runExample(
      'stream-with-resume.mjs',
      ['', app.streamUrl.replace(/:\d+\//, `:${proxy.port}/`)],
      (line) => {
        printed++;
        if (cutAt === undefined && /^(partial|final) /.test(line)) {
          cutAt = printed;
          proxy.cut();
        }
      },
    );
    t.equal(run.code, 0, run.stderr);
    t.equal(run.stderr, '', 'no server errors');
    t.ok(cutAt !== undefined, `the connection was cut at: ${run.lines[(cutAt ?? 0) - 1]}`);
    t.ok(
      run.lines.slice(cutAt).some((line) => line.startsWith('final ')),
      'finals came after the cut: it was mid-stream',
    );
    t.equal(proxy.connections, 2, 'one reconnect');
    t.ok(
      run.lines.some((line) => line.startsWith('connection lost: reconnecting')),
      'the drop is reported',
    );
    const sessions = run.lines.filter((line) => line.startsWith('session '));
    const id = /^session (\S+) \(new\)$/.exec(sessions[0] ?? '')?.[1];
    t.ok(id, 'a new session first');
    t.same(sessions, [`session ${id} (new)`, `session ${id} (resumed)`], 'then the same session resumed');
    t.equal(run.lines.at(-1), 'closed 1000 end of stream');

    const finals = run.lines.flatMap((line) => {
      const m = /^final {3}\[(\d+\.\d{3}) s - (\d+\.\d{3}) s\] /.exec(line);
      return m ? [{ startMs: Math.round(Number(m[1]) * 1000), endMs: Math.round(Number(m[2]) * 1000) }] : [];
    });
    t.ok(finals.length >= 2, `${finals.length} finals`);
    finals.forEach((f, i) => {
      t.ok(i === 0 || f.startMs >= (finals[i - 1]?.endMs ?? 0), `final ${i} follows the one before`);
    });
    // Every stretch of speech in the file (by whole-file VAD, give or take its edges) lies within the finals, checked
    // every 10 ms: nothing was lost to the drop.
    const inFinal = (ms: number): boolean => finals.some((f) => ms >= f.startMs && ms <= f.endMs);
    for (const region of await vadRegions(speech('jfk.wav'))) {
      let uncovered: number | undefined;
      for (
        let ms = region.startMs + EDGE_SLACK_MS;
        ms <= region.endMs - EDGE_SLACK_MS && uncovered === undefined;
        ms += 10
      ) {
        if (!inFinal(ms)) uncovered = ms;
      }
      t.equal(uncovered, undefined, `speech from ${region.startMs} to ${region.endMs} ms is in the finals`);
    }
  },
);
