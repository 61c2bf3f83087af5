import t from 'tap';
import { spawnSync } from 'node:child_process';
import { projectRoot } from '../engine/index.js';
import { TINY_EN } from './helpers/engine-fixtures.js';

t.test('the engine imports by package name and exits on its own: no server, no pool, no open handles', async (t) => {
  const program = `
    import { WhisperModel, readWav16kMono, fixturesDir } from 'whisper-stream-server';
    const model = new WhisperModel(process.env.MODEL);
    const pcm = readWav16kMono(fixturesDir + '/speech/jfk.wav').subarray(0, 32000);
    const result = await model.transcribe(pcm, { maxTokens: 8, temperatureFallback: false });
    console.log(JSON.stringify({ language: result.language, hasText: typeof result.text === 'string' }));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', program], {
    cwd: projectRoot,
    env: { ...process.env, MODEL: TINY_EN },
    encoding: 'utf8',
    timeout: 120_000,
  });
  t.equal(child.signal, null, 'not killed by the timeout: nothing kept the process alive');
  t.equal(child.status, 0, child.stderr);
  t.same(JSON.parse(child.stdout.trim()), { language: 'en', hasText: true });
});
