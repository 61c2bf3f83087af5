// Passes, but leaves a process of its own running (started around the helpers, detached and forgotten).
import { spawn } from 'node:child_process';
import t from 'tap';

t.test('leaks a process', async (t) => {
  const script = 'setInterval(() => undefined, 1000)';
  const leaked = spawn(process.execPath, ['-e', script], { detached: true, stdio: 'ignore' });
  leaked.unref();
  t.comment(`child pid ${leaked.pid}`);
  t.pass('started it');
});
