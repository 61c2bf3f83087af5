// Dies by SIGKILL, as a test process that tap kills at its timeout does, while a child it started is running.
import t from 'tap';
import { ChildRun } from '../helpers/child-process.js';

t.test('killed with a child running', async (t) => {
  const script = 'console.log("up"); setInterval(() => undefined, 1000)';
  const child = new ChildRun(process.execPath, ['-e', script], process.env);
  await child.waitForLine((line) => line === 'up');
  t.comment(`child pid ${child.pid}`);
  // On stderr too, which reaches the suite's output whatever becomes of this test's TAP as it fails.
  console.error(`# child pid ${child.pid}`);
  process.kill(process.pid, 'SIGKILL');
});
