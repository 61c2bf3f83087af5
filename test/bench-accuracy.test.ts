// npm run bench:accuracy end to end, as a child process: the one loud line without a real model, and a full run
// (real addon, real server, real client) on the synthetic model, whose WER is meaningless but must be a number.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { projectRoot } from '../engine/index.js';

const run = promisify(execFile);
const SCRIPT = join(projectRoot, 'dist', 'bench', 'accuracy.js');

t.test('without a real model: one loud line, nothing measured, exit 0', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'no-models-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  // execFile rejects on a non-zero exit, so resolving is the exit-0 check
  const { stdout } = await run(process.execPath, [SCRIPT, '--models-dir', empty], { cwd: projectRoot });
  const lines = stdout.split('\n').filter((line) => line !== '');
  t.equal(lines.length, 1, 'exactly one line');
  t.match(lines[0], /^bench:accuracy: NO REAL WHISPER MODEL in .*no-models-.*npm run models:fetch.*nothing measured$/);
});

t.test('--model with the synthetic model measures offline and streaming WER', async (t) => {
  const { stdout } = await run(
    process.execPath,
    [SCRIPT, '--model', 'models/ggml-tiny.en-synthetic.bin', '--clips', '7902-96591-0000', '--speed', '4', '--json'],
    { cwd: projectRoot, maxBuffer: 16 * 2 ** 20 },
  );
  const report = JSON.parse(stdout) as {
    machine: { cpu: string };
    corpus: { clips: { name: string }[] };
    models: {
      path: string;
      synthetic: boolean;
      offline: {
        decode: string;
        pooled: { wer: unknown; referenceWords: number };
        clips: { clip: string; wer: unknown }[];
      };
      streaming: {
        decode: string;
        pooled: { wer: unknown; referenceWords: number };
        clips: { clip: string; wer: unknown }[];
      };
    }[];
  };
  t.type(report.machine.cpu, 'string', 'names the machine');
  t.same(
    report.corpus.clips.map((c) => c.name),
    ['7902-96591-0000'],
    'only the clip asked for',
  );
  t.equal(report.models.length, 1, 'one model measured');
  const model = report.models[0];
  if (!model) throw new Error('the report has no model');
  t.match(model.path, /ggml-tiny\.en-synthetic\.bin$/);
  t.equal(model.synthetic, true, 'labelled synthetic by its file name');
  for (const mode of [model.offline, model.streaming]) {
    t.type(mode.decode, 'string', 'names the decode mode');
    t.equal(mode.pooled.referenceWords, 9, 'I AM FROM THE CUTTER LYING OFF THE COAST');
    t.type(mode.pooled.wer, 'number', 'a pooled WER');
    t.ok(Number.isFinite(mode.pooled.wer), 'finite');
    t.same(
      mode.clips.map((c) => c.clip),
      ['7902-96591-0000'],
    );
    t.type(mode.clips[0]?.wer, 'number', 'a WER for the clip');
  }
});
