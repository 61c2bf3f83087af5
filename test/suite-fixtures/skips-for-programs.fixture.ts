// Skips as tests do on a machine without haproxy and redis-server, with test/helpers/system-programs.ts's reasons.
import t from 'tap';
import { skipReason } from '../helpers/system-programs.js';

t.test('a cluster test', { skip: skipReason(['haproxy', 'redis-server']) }, async () => undefined);
t.test('a redis test', { skip: skipReason(['redis-server']) }, async () => undefined);
t.test('a skip for another reason', { skip: 'not a missing program' }, async () => undefined);
t.test('a test that runs', async (t) => t.pass('ran'));
