// docs/DEPLOY.md quotes the deployment files the tests run, word for word, and those files are valid.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { projectRoot } from '../engine/index.js';
import { loadConfig } from '../server/config.js';
import { HAPROXY } from './helpers/haproxy.js';
import { needs } from './helpers/system-programs.js';

const FILES = ['deploy/haproxy.cfg', 'deploy/whisper-stream@.service', 'deploy/whisper-stream.env'];

t.test('DEPLOY.md quotes every file of deploy/ as it is', async (t) => {
  const doc = await readFile(join(projectRoot, 'docs/DEPLOY.md'), 'utf8');
  for (const file of FILES)
    t.ok(doc.includes(await readFile(join(projectRoot, file), 'utf8')), `${file} is in DEPLOY.md`);
});

t.test('the shared settings file holds valid settings, with a shared session store', async (t) => {
  const text = await readFile(join(projectRoot, 'deploy/whisper-stream.env'), 'utf8');
  const env = Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const config = loadConfig([], env);
  t.not(config, 'help');
  t.match(config, { sessionStore: /^redis:\/\//, host: '0.0.0.0' });
});

t.test('haproxy accepts deploy/haproxy.cfg', { skip: needs('haproxy') }, async (t) => {
  const env = {
    ...process.env,
    STT_LISTEN: '127.0.0.1:8080',
    STT_S1: '127.0.0.1:8081',
    STT_S2: '127.0.0.1:8082',
    STT_S3: '127.0.0.1:8083',
  };
  const { stdout } = await promisify(execFile)(HAPROXY, ['-c', '-f', join(projectRoot, 'deploy/haproxy.cfg')], { env });
  t.match(stdout, /Configuration file is valid/);
});
