// The suite's own guarantees, shown on child runs of test/run-suite.ts over files that misbehave on purpose: no process
// a test started outlives it, even when it fails or is killed; one that escapes is found, reported and stopped; and
// skips for missing programs are counted by program.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { projectRoot } from '../engine/index.js';

interface SuiteRun {
  code: number | null;
  output: string;
}

/** This process's environment without what tap gave it, which would make the child run report to this one. */
const ownEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^(TAP|_TAPJS_)/.test(key) && key !== 'NODE_OPTIONS'),
);

/** Runs the suite driver over one fixture file, as `npm test` would run the suite. */
function runSuite(fixture: string): Promise<SuiteRun> {
  const args = [join(projectRoot, 'dist/test/run-suite.js'), join('dist/test/suite-fixtures', `${fixture}.fixture.js`)];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: projectRoot, env: ownEnv, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** The pids the fixture's children announced (with t.comment, and some on stderr too). */
const childPids = (output: string): number[] => [
  ...new Set([...output.matchAll(/# child pid (\d+)/g)].map((m) => Number(m[1]))),
];

/** Running: a zombie (killed, not yet reaped by whoever adopted it) is not. */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

for (const fixture of ['fails-holding-a-child', 'killed-holding-a-child']) {
  t.test(`${fixture}: the run fails, and the child is gone`, async (t) => {
    const run = await runSuite(fixture);
    t.equal(run.code, 1, 'the suite fails');
    const pids = childPids(run.output);
    t.equal(pids.length, 1, 'the fixture started a child');
    t.match(run.output, /^suite: no process started by the tests is still running$/m, 'the suite finds none left');
    t.same(pids.filter(alive), [], 'no child is alive');
  });
}

t.test('a process that escapes the helpers is reported with its command, stopped, and fails the run', async (t) => {
  const run = await runSuite('leaks-a-process');
  t.equal(run.code, 1, 'the suite fails although every test passed');
  const [pid] = childPids(run.output);
  const found = /^suite: 1 process\(es\) started by the tests were still running \(now killed\):$/m;
  t.match(run.output, found, 'it is found');
  t.match(run.output, new RegExp(`^suite: {3}pid ${pid}: .*setInterval`, 'm'), 'it names the process');
  const failure = /^suite: took .*FAILED: processes outlived the tests that started them$/m;
  t.match(run.output, failure, 'and named as the failure');
  t.notOk(pid !== undefined && alive(pid), 'it is no longer running');
});

t.test('skips for missing programs are counted by program, with what to install', async (t) => {
  const run = await runSuite('skips-for-programs');
  t.equal(run.code, 0, 'the suite passes');
  const install = /# SKIP needs haproxy, redis-server: not installed \(apt-get install haproxy redis-server; .* them\)/;
  t.match(run.output, install, 'a skip says in one line what to install');
  t.match(run.output, /^suite: 1 files: 1 passed, 0 failed, 3 skipped, 0 todo$/m, 'every skip is counted');
  const counted = /^suite: skipped for want of haproxy \(1 test\), redis-server \(2 tests\): apt-get install haproxy/m;
  t.match(run.output, counted, 'those for missing programs by program');
});
