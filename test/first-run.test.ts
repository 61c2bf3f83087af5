// What a newcomer meets first, run as they would run it: a mistyped flag or setting, `npm start` before `npm ci`, a
// wrong VAD file, `transcribe | head`, the synthetic model's nonsense called out, and /readyz's figures.
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import t from 'tap';
import { within } from '../bench/lib/wait.js';
import { fixturesDir, modelsDir, projectRoot } from '../engine/index.js';
import { netLagMs } from '../server/event-loop-lag.js';
import { SILERO, TINY_EN } from './helpers/engine-fixtures.js';
import { startTestServer } from './helpers/stream-server.js';

const server = join(projectRoot, 'dist/server/main.js');
const cli = join(projectRoot, 'dist/cli/main.js');
const jfkPath = join(fixturesDir, 'speech', 'jfk.wav');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

t.test('a mistyped flag or a bad setting stops the server with one line, not the whole help', async (t) => {
  const flag = await run(server, ['--prot', '9000']);
  t.equal(flag.code, 2);
  t.same(lines(flag.stderr), ['unknown option --prot; did you mean --port? (npm start -- --help lists every setting)']);
  const setting = await run(server, [], { ...process.env, PORT: 'eighty' });
  t.equal(setting.code, 2);
  const expected = "PORT must be an integer from 0 to 65535, got 'eighty' (npm start -- --help lists every setting)";
  t.same(lines(setting.stderr), [expected]);
});

t.test('the CLI answers a mistyped command or option with the error and its usage line', async (t) => {
  const command = await run(cli, ['transcrbe', jfkPath]);
  t.equal(command.code, 2);
  t.same(lines(command.stderr), [
    'whisper-stream: unknown command "transcrbe"; did you mean transcribe?',
    'Usage: whisper-stream <command> [options]   (--help lists the options)',
  ]);
  const option = await run(cli, ['transcribe', jfkPath, '--langauge', 'en']);
  t.equal(option.code, 2);
  t.equal(lines(option.stderr)[0], 'whisper-stream: unknown option --langauge; did you mean --language?');
});

t.test('npm start before npm ci: one line saying to run it', async (t) => {
  // The check as a fresh clone holds it: the script, and nothing npm ci makes.
  const clone = t.testdir({ scripts: {} });
  copyFileSync(join(projectRoot, 'scripts/check-installed.mjs'), join(clone, 'scripts/check-installed.mjs'));
  const { code, stderr } = await run(join(clone, 'scripts/check-installed.mjs'), ['--compiled']);
  t.equal(code, 1);
  t.same(lines(stderr), [
    'whisper-stream-server is not installed here yet (missing: node_modules, build/Release/whisper.node, ' +
      'dist/server/main.js): run npm ci first (it needs Node 20.10+, cmake and g++)',
  ]);
});

t.test('a VAD model that is no Silero file is refused before the server listens', async (t) => {
  const notVad = join(t.testdir({ 'vad.bin': 'not a model\n' }), 'vad.bin');
  const { code, stdout, stderr } = await run(server, ['--port', '0', '--vad-model', notVad], {
    ...process.env,
    LOG_FORMAT: 'json',
    WHISPER_MODEL: TINY_EN,
  });
  t.equal(code, 1);
  t.notMatch(stdout, /"msg":"listening"/, 'it never listened');
  t.match(stdout, `${notVad} is not a Silero VAD ggml model file`);
  t.equal(stderr, '');
});

t.test('transcribe | head: the CLI stops quietly when its reader goes', async (t) => {
  const app = await startTestServer({ VAD_MODEL: SILERO });
  t.teardown(() => app.close());
  const args = [cli, 'transcribe', jfkPath, '--fast', '--json', '--url', app.streamUrl];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => void child.kill('SIGKILL'));
  const first = createInterface({ input: child.stdout });
  await within(new Promise((resolve) => first.once('line', resolve)), 'the first transcript line');
  // What `head -1` does once it has its line: it closes the pipe.
  child.stdout.destroy();
  t.equal(await within(exited, 'the CLI to exit'), 0, 'exit code 0');
  t.notMatch(stderr, /EPIPE|Error|at /, 'no error and no stack');
  t.match(stderr, /note: the server runs the synthetic stand-in model \(ggml-tiny\.en-synthetic\.bin\): its/);
});

const realModel = existsSync(join(modelsDir, 'ggml-tiny.en.bin')) && 'the real tiny.en is in models/';
t.test('the library says once that the model it picked is the synthetic stand-in', { skip: realModel }, async (t) => {
  const program = "import { WhisperModel as M } from 'whisper-stream-server'; new M().free(); new M().free();";
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['WHISPER_MODEL'];
  const { code, stderr } = await new Promise<Outcome>((resolve) => {
    const options = { cwd: projectRoot, env, timeout: 60_000 };
    execFile(process.execPath, ['--input-type=module', '-e', program], options, (error, stdout, stderr) =>
      resolve({ code: error ? 1 : 0, stdout, stderr }),
    );
  });
  t.equal(code, 0);
  const warnings = lines(stderr).filter((line) => line.includes('[WHISPER_STREAM_SYNTHETIC_MODEL]'));
  t.equal(warnings.length, 1, 'one warning for two models');
  const warning = /ggml-tiny\.en-synthetic\.bin is the synthetic stand-in model: its transcripts are nonsense\. npm/;
  t.match(warnings[0], warning);
});

t.test(
  'audio in no format the server reads gets the command that converts it, from the CLI and the file endpoint',
  async (t) => {
    const notWav = join(t.testdir({ 'speech.mp3': 'not audio at all' }), 'speech.mp3');
    const cliRun = await run(cli, ['transcribe', notWav, '--url', 'ws://127.0.0.1:9/stream']);
    t.equal(cliRun.code, 1);
    t.match(
      cliRun.stderr,
      /^whisper-stream: .*speech\.mp3: .*no format this server reads.*convert other audio first, e\.g\. ffmpeg/,
    );
    const app = await startTestServer();
    t.teardown(() => app.close());
    const form = new FormData();
    form.append('file', new Blob(['not audio at all']), 'speech.mp3');
    form.append('model', 'whisper-1');
    const response = await fetch(`${app.httpUrl}/v1/audio/transcriptions`, { method: 'POST', body: form });
    t.equal(response.status, 400);
    t.match(await response.json(), {
      error: { code: 'unsupported_audio', message: /no format this server reads.*ffmpeg -i INPUT/ },
    });
  },
);

t.test("/readyz's figures are rounded, not binary fractions", async (t) => {
  t.equal(netLagMs(16_810_000), 6.81, 'a lag net of the sampling interval');
  t.equal(netLagMs(3_000_000), 0, 'never below zero');
  const app = await startTestServer();
  t.teardown(() => app.close());
  const text = await (await fetch(`${app.httpUrl}/readyz`)).text();
  t.same(text.match(/\d+\.\d{3,}/g) ?? [], [], text);
});
