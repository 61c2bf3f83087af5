// The client library given several URLs: the first connection tries each in turn.
import t from 'tap';
import { ConnectionError, StreamClient } from '../client/index.js';
import { freePort } from './helpers/free-port.js';
import { startTestServer } from './helpers/stream-server.js';

t.test('a list of URLs: one where nothing listens is passed over for the next', async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  const dead = `ws://127.0.0.1:${await freePort()}/stream`;
  const client = new StreamClient([dead, app.streamUrl]);
  const sessions: boolean[] = [];
  client.on('session', (s) => sessions.push(s.resumed));
  await client.connect();
  t.equal(client.url, app.streamUrl, 'connected to the second URL');
  t.same(sessions, [false], 'one new session');
  t.equal((await client.end()).code, 1000);
});

t.test('when every URL fails, connect() reports the last failure', async (t) => {
  const client = new StreamClient([
    `ws://127.0.0.1:${await freePort()}/stream`,
    `ws://127.0.0.1:${await freePort()}/stream`,
  ]);
  await t.rejects(client.connect(), ConnectionError);
  t.throws(() => new StreamClient([]), RangeError, 'no URL at all is refused');
});
