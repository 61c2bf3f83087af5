import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { fixturesDir, projectRoot } from '../engine/index.js';
import { speech } from './helpers/engine-fixtures.js';
import { startTestServer } from './helpers/stream-server.js';

const run = promisify(execFile);
const cli = join(projectRoot, 'dist', 'cli', 'main.js');
const jfkPath = join(fixturesDir, 'speech', 'jfk.wav');

const app = await startTestServer();
t.teardown(() => app.close());

/** A 16-bit PCM WAV file at any rate and channel count. */
function wavFile(samples: Int16Array, sampleRate: number, channels: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + samples.byteLength, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(samples.byteLength, 40);
  return Buffer.concat([header, Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)]);
}

t.test('transcribe FILE --json prints every transcript, finals included', async (t) => {
  const { stdout } = await run(process.execPath, [
    cli,
    'transcribe',
    jfkPath,
    '--fast',
    '--json',
    '--url',
    app.streamUrl,
  ]);
  const messages = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; is_final: boolean; text: string });
  t.ok(messages.length > 0, 'messages printed');
  t.ok(
    messages.every((m) => m.type === 'transcript'),
    'all transcripts',
  );
  t.ok(messages.filter((m) => m.is_final).length >= 2, 'jfk.wav gives several finals');
});

t.test('transcribe FILE prints the finals as lines when the output is not a terminal', async (t) => {
  const { stdout } = await run(process.execPath, [cli, 'transcribe', jfkPath, '--fast', '--url', app.streamUrl]);
  const json = await run(process.execPath, [cli, 'transcribe', jfkPath, '--fast', '--json', '--url', app.streamUrl]);
  const finals = json.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { is_final: boolean; text: string })
    .filter((m) => m.is_final && m.text !== '');
  t.equal(stdout.trim().split('\n').length, finals.length, 'one line per final with text');
});

t.test('transcribe resamples files that are not 16 kHz mono', async (t) => {
  const jfk = speech('jfk.wav');
  const stereo8k = new Int16Array(Math.floor(jfk.length / 2) * 2);
  for (let i = 0; i < stereo8k.length / 2; i++) {
    stereo8k[2 * i] = jfk[2 * i] as number;
    stereo8k[2 * i + 1] = jfk[2 * i] as number;
  }
  const path = join(t.testdirName, 'jfk-8k-stereo.wav');
  t.testdir({});
  writeFileSync(path, wavFile(stereo8k, 8000, 2));
  const { stdout } = await run(process.execPath, [cli, 'transcribe', path, '--fast', '--json', '--url', app.streamUrl]);
  const finals = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { is_final: boolean; end_ms: number })
    .filter((m) => m.is_final);
  t.ok(finals.length >= 1, 'speech found in the converted audio');
  t.ok(
    finals.every((m) => m.end_ms <= 11100),
    'audio time matches the 11 s file, not twice or half of it',
  );
});

t.test('transcribe takes what the file API takes: an MP3 and an Ogg Opus file are decoded and streamed', async (t) => {
  for (const name of ['jfk.mp3', 'jfk.opus']) {
    const { stdout } = await run(process.execPath, [
      cli,
      'transcribe',
      join(fixturesDir, 'audio', name),
      '--fast',
      '--json',
      '--url',
      app.streamUrl,
    ]);
    const finals = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { is_final: boolean; end_ms: number })
      .filter((m) => m.is_final);
    t.ok(finals.length >= 1, `${name}: speech found`);
    t.ok(
      finals.every((m) => m.end_ms <= 11100),
      `${name}: within its 11 s`,
    );
  }
  await t.rejects(
    run(process.execPath, [cli, 'transcribe', join(fixturesDir, 'audio', 'jfk-3s.m4a'), '--url', app.streamUrl]),
    { code: 1, stderr: /AAC\) is not supported/ },
  );
});

t.test('clear errors: unknown command, missing file, unreachable server, no recorder for mic', async (t) => {
  await t.rejects(run(process.execPath, [cli, 'bogus']), { code: 2, stderr: /unknown command "bogus"/ });
  await t.rejects(run(process.execPath, [cli, 'transcribe']), { code: 2, stderr: /transcribe needs an audio file/ });
  await t.rejects(run(process.execPath, [cli, 'transcribe', join(fixturesDir, 'nope.wav'), '--url', app.streamUrl]), {
    code: 1,
    stderr: /ENOENT|no such file/,
  });
  await t.rejects(run(process.execPath, [cli, 'transcribe', jfkPath, '--url', 'ws://127.0.0.1:9/stream']), {
    code: 3,
    stderr: /whisper-stream: cannot connect/,
  });
  const mic = await run(process.execPath, [cli, 'mic', '--url', app.streamUrl], {
    env: { ...process.env, PATH: '/nonexistent' },
  }).catch((error: { code: number; stderr: string }) => error);
  t.match(mic, { code: 5, stderr: /arecord .* or sox/ }, 'mic says what to install');
});

t.test('models list shows the catalog with what models/ holds, synthetic stand-ins included', async (t) => {
  const { stdout } = await run(process.execPath, [cli, 'models', 'list']);
  t.match(stdout, /tiny\.en\s+ggml-tiny\.en\.bin\s+77\.7 MB\s+(installed|not installed)/);
  t.match(
    stdout,
    /silero-v6\.2\.0\s+ggml-silero-v6\.2\.0\.bin\s+0\.9 MB\s+(installed|bundled with the package)/,
    'the VAD model ships with the package',
  );
  t.match(stdout, /ggml-tiny\.en-synthetic\.bin\s+77\.7 MB/, 'the synthetic stand-in is listed');
});
