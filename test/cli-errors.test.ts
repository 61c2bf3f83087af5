// The CLI's failures as a newcomer meets them: refused and impossible connections, a failing recorder, and --help on
// every subcommand, each with its documented exit code.
import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { StreamClient } from '../client/index.js';
import { fixturesDir, projectRoot } from '../engine/index.js';
import { hashApiKey } from '../server/auth/authenticator.js';
import { startTestServer } from './helpers/stream-server.js';

const cli = join(projectRoot, 'dist', 'cli', 'main.js');
const jfkPath = join(fixturesDir, 'speech', 'jfk.wav');
const KEY = 'the-key-0123456789';

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

// Authentication is checked before capacity: without a key 401, with one 503 while the only session is taken.
const app = await startTestServer({
  POOL_SIZE: '1',
  THREADS_PER_TASK: '1',
  API_KEY_HASHES: hashApiKey(KEY),
  MAX_SESSIONS: '1',
});
t.teardown(() => app.close());
const occupant = new StreamClient(app.streamUrl, { token: KEY });
await occupant.connect();
t.teardown(() => occupant.close());

t.test('a refused handshake is one readable line and exit code 4', async (t) => {
  const unauthorized = await runCli(['transcribe', jfkPath, '--fast', '--url', app.streamUrl]);
  t.equal(unauthorized.code, 4, 'exit code 4: refused by the server');
  t.match(
    unauthorized.stderr,
    new RegExp(
      '^whisper-stream: the server refused the connection: 401 unauthorized: missing credential: ' +
        'send Authorization[^\\n]*\\n$',
    ),
  );
  t.equal(unauthorized.stdout, '');

  const busy = await runCli(['transcribe', jfkPath, '--fast', '--url', app.streamUrl, '--token', KEY]);
  t.equal(busy.code, 4);
  t.equal(busy.stderr, 'whisper-stream: the server refused the connection: 503 too many sessions; retry after 5 s\n');
});

t.test('nothing listening is exit code 3, with the system error', async (t) => {
  const { code, stderr } = await runCli(['transcribe', jfkPath, '--url', 'ws://127.0.0.1:9/stream']);
  t.equal(code, 3);
  t.equal(stderr, 'whisper-stream: cannot connect to ws://127.0.0.1:9/stream: connect ECONNREFUSED 127.0.0.1:9\n');
});

t.test("mic exits 5 with the recorder's own error line when the recorder fails", async (t) => {
  const dir = t.testdir({});
  const sox = join(dir, 'sox');
  writeFileSync(
    sox,
    '#!/bin/sh\necho "sox FAIL sox: Sorry, there is no default audio device configured" >&2\nexit 2\n',
  );
  chmodSync(sox, 0o755);
  const open = await startTestServer({ POOL_SIZE: '1', THREADS_PER_TASK: '1' });
  t.teardown(() => open.close());
  const { code, stderr } = await runCli(['mic', '--url', open.streamUrl], { PATH: dir });
  t.equal(code, 5, 'exit code 5: recorder failed');
  t.match(
    stderr,
    new RegExp(
      'whisper-stream: the recorder failed: sox exited with code 2: ' +
        'sox FAIL sox: Sorry, there is no default audio device configured\\n$',
    ),
  );
});

t.test('every subcommand answers --help with its usage and defaults, exit 0', async (t) => {
  const main = await runCli(['--help']);
  t.equal(main.code, 0);
  for (const command of ['serve', 'transcribe', 'mic', 'models'])
    t.match(main.stdout, new RegExp(`^  ${command} `, 'm'), `lists ${command}`);
  t.match(main.stdout, /^ {2}4 {2}the server refused the connection/m, 'documents the exit codes');

  const transcribe = await runCli(['transcribe', '--help']);
  t.equal(transcribe.code, 0);
  t.match(transcribe.stdout, /^Usage: whisper-stream transcribe FILE/);
  t.match(transcribe.stdout, /--url URL .*default: \$WHISPER_STREAM_URL, else ws:\/\/127\.0\.0\.1:8080\/stream/);
  t.match(transcribe.stdout, /--fast .*default: off/);

  const mic = await runCli(['mic', '-h']);
  t.equal(mic.code, 0);
  t.match(mic.stdout, /^Usage: whisper-stream mic/);
  t.notMatch(mic.stdout, /--fast/, 'only its own options');

  const models = await runCli(['models', '--help']);
  t.equal(models.code, 0);
  t.match(models.stdout, /^Usage: whisper-stream models/);
  t.match(models.stdout, /fetch .*\(default: tiny\.en\)/);

  const serve = await runCli(['serve', '--help']);
  t.equal(serve.code, 0);
  t.match(serve.stdout, /--port <value> +PORT/, "the server's own settings");
  t.match(serve.stdout, /--log-format <value> +LOG_FORMAT/);

  const wrong = await runCli(['transcribe', '--bogus']);
  t.equal(wrong.code, 2, 'an unknown option is a usage error');
  t.match(wrong.stderr, /Usage: whisper-stream transcribe/);
});
