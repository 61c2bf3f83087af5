// The test helpers' waits give up after their own timeout, saying what they waited for and what they saw last.
import t from 'tap';
import { WaitTimeout, pollUntil, within } from '../../bench/lib/wait.js';
import { MessageLog } from '../helpers/message-log.js';

t.test('MessageLog.waitFor: the match, or after the timeout the matcher and the last message', async (t) => {
  const log = new MessageLog<{ type: string }>();
  log.push({ type: 'session' });
  const later = log.waitFor((m) => m.type === 'final', { timeoutMs: 1000 });
  log.push({ type: 'final' });
  t.same(await later, { type: 'final' }, 'a message still to come');
  t.same(await log.waitFor((m) => m.type === 'session'), { type: 'session' }, 'one already there');
  log.push({ type: 'partial' });
  const last = 'saw last: {"type":"partial"} (3 messages in all)';
  await t.rejects(
    log.waitFor((m) => m.type === 'error', { timeoutMs: 30 }),
    {
      name: 'WaitTimeout',
      message: `gave up after 30 ms waiting for (m) => m.type === 'error'; ${last}`,
    },
  );
  const named = log.waitFor(() => false, { timeoutMs: 30, what: 'the end' });
  await t.rejects(named, { message: /^gave up after 30 ms waiting for the end;/ });
});

t.test('pollUntil: the first value that holds, or after the timeout the last value polled', async (t) => {
  let n = 0;
  t.equal(
    await pollUntil(
      async () => ++n,
      (value) => value >= 3,
      { intervalMs: 1 },
    ),
    3,
  );
  const stats = async (): Promise<{ active: number }> => ({ active: 1 });
  await t.rejects(
    pollUntil(stats, (s) => s.active === 0, { timeoutMs: 30, intervalMs: 5 }),
    {
      name: 'WaitTimeout',
      message: 'gave up after 30 ms waiting for (s) => s.active === 0; saw last: {"active":1}',
    },
  );
});

t.test('within: a promise that settles in time is unchanged; Infinity waits for good', async (t) => {
  t.equal(await within(Promise.resolve(7), 'seven', 1000), 7);
  const failing = within(Promise.reject(new Error('own')), 'x', 1000);
  await t.rejects(failing, { message: 'own' }, 'its rejection passes through');
  const never = new Promise<never>(() => undefined);
  const timeout = new WaitTimeout('gave up after 20 ms waiting for nothing; saw last: silence');
  await t.rejects(
    within(never, 'nothing', 20, () => 'silence'),
    timeout,
  );
  t.equal(within(never, 'forever', Infinity), never, 'no timer at all');
});
