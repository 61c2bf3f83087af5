// Fails on purpose while a child process it started is still running, and never stops it: the helpers must.
import t from 'tap';
import { ChildRun } from '../helpers/child-process.js';

t.test('fails with a child running', async (t) => {
  const script = 'console.log("up"); setInterval(() => undefined, 1000)';
  const child = new ChildRun(process.execPath, ['-e', script], process.env);
  await child.waitForLine((line) => line === 'up');
  t.comment(`child pid ${child.pid}`);
  // On stderr too, which reaches the suite's output whatever becomes of this test's TAP as it fails.
  console.error(`# child pid ${child.pid}`);
  t.fail('on purpose');
  throw new Error('on purpose, without stopping the child');
});
