// SESSION_STORE as an operator meets it: a malformed URL, and a Redis that does not answer at start-up.
import t from 'tap';
import { ConfigError, loadConfig } from '../server/config.js';
import { freePort } from './helpers/free-port.js';
import { startTestServer } from './helpers/stream-server.js';

t.test('SESSION_STORE must be a redis:// or rediss:// URL', async (t) => {
  t.throws(() => loadConfig([], { SESSION_STORE: 'http://127.0.0.1:6379' }), {
    name: 'ConfigError',
    message: /SESSION_STORE must be a redis:\/\/ or rediss:\/\/ URL/,
  });
  t.throws(() => loadConfig([], { SESSION_STORE: 'not a url' }), ConfigError);
  t.match(loadConfig(['--session-store', 'redis://10.0.0.5:6379/2'], {}), { sessionStore: 'redis://10.0.0.5:6379/2' });
  t.match(loadConfig([], {}), { sessionStore: undefined }, 'unset: sessions stay in memory');
});

t.test('a Redis that does not answer fails start-up with a readable error, without its password', async (t) => {
  const port = await freePort();
  await t.rejects(startTestServer({ SESSION_STORE: `redis://user:secret@127.0.0.1:${port}/0` }), {
    name: 'ConfigError',
    message: new RegExp(`^SESSION_STORE: cannot reach redis://127\\.0\\.0\\.1:${port}/0 within 10 s: .*ECONNREFUSED`),
  });
});
