// Start-up failures of the real server process say why once, readably (LOG_FORMAT=text) or as one JSON line; and the
// logger writes an Error's message once in either format.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { projectRoot } from '../engine/index.js';
import { createLogger } from '../server/log.js';
import { SILERO, TINY_EN } from './helpers/engine-fixtures.js';

const main = join(projectRoot, 'dist', 'server', 'main.js');

interface Outcome {
  code: number | null;
  output: string;
  stdout: string;
}

/** Runs the server with `args` and `env` (over a clean environment) until it exits. */
function runServer(args: string[], env: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [main, ...args],
      { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
          output: stdout + stderr,
          stdout,
        });
      },
    );
  });
}

const occurrences = (text: string, part: string): number => text.split(part).length - 1;

t.test('a missing model, LOG_FORMAT=text: exit 1 and the message once, on one line, without a stack', async (t) => {
  const { code, output } = await runServer(['--model', '/nonexistent.bin'], { LOG_FORMAT: 'text' });
  t.equal(code, 1);
  t.equal(occurrences(output, 'Whisper model file not found: /nonexistent.bin'), 1, output);
  t.match(
    output.trim(),
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ error Whisper model file not found: \/nonexistent\.bin$/,
    'one text line',
  );
});

t.test('a missing model, LOG_FORMAT=json: exit 1 and one JSON line naming it once', async (t) => {
  const { code, output, stdout } = await runServer(['--model', '/nonexistent.bin'], { LOG_FORMAT: 'json' });
  t.equal(code, 1);
  const lines = stdout.trim().split('\n');
  t.equal(lines.length, 1, 'one line');
  t.match(JSON.parse(lines[0] ?? ''), {
    level: 'error',
    msg: 'Whisper model file not found: /nonexistent.bin',
    time: String,
  });
  t.equal(occurrences(output, '/nonexistent.bin'), 1, 'the message once, not again as error.message and error.stack');
});

t.test('LOG_LEVEL=debug adds where a start-up error was thrown, still naming it once', async (t) => {
  const { code, output } = await runServer(['--model', '/nonexistent.bin'], { LOG_FORMAT: 'text', LOG_LEVEL: 'debug' });
  t.equal(code, 1);
  t.equal(occurrences(output, '/nonexistent.bin'), 1);
  t.match(output, /\n\s+at .*app\.[jt]s/, 'the stack frames follow the line');
});

t.test('a port in use: exit 1 and a line saying so, with what to do', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const address = blocker.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const { code, output } = await runServer(['--port', String(address.port)], {
    LOG_FORMAT: 'text',
    WHISPER_MODEL: TINY_EN,
    VAD_MODEL: SILERO,
  });
  t.equal(code, 1);
  t.equal(occurrences(output, 'already in use'), 1, output);
  t.match(output, new RegExp(`error port ${address.port} on 127\\.0\\.0\\.1 is already in use: .*--port \\(PORT\\)`));
  t.notMatch(output, /\n\s+at /, 'no stack');
});

t.test('the logger writes an Error field once: message and code, the stack frames only at error level', async (t) => {
  const lines: string[] = [];
  const error = Object.assign(new TypeError('the thing broke'), { code: 'E_THING' });
  const json = createLogger('info', (line) => lines.push(line), 'json');
  json.error('request failed', { error, session: 'abc' });
  json.warn('socket error', { error });
  const [atError, atWarn] = lines.map(
    (line) => JSON.parse(line) as { error: { name: string; message: string; code: string; stack?: string } },
  );
  t.match(atError, {
    msg: 'request failed',
    session: 'abc',
    error: { name: 'TypeError', message: 'the thing broke', code: 'E_THING', stack: /^\s+at / },
  });
  t.equal(occurrences(lines[0] ?? '', 'the thing broke'), 1, 'the stack does not repeat the message');
  t.notOk(atWarn?.error.stack, 'no stack for a warning');

  const text: string[] = [];
  createLogger('info', (line) => text.push(line), 'text').error('request failed', {
    error,
    path: '/stream',
    note: 'two words',
  });
  const [first, ...frames] = (text[0] ?? '').trimEnd().split('\n');
  t.match(
    first,
    /^\S+Z error request failed error="TypeError: the thing broke" error\.code=E_THING path=\/stream note="two words"$/,
  );
  t.ok(frames.length > 0 && frames.every((line) => /^\s+at /.test(line)), 'stack frames on the lines below');
});
