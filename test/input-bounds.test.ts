/**
 * Input bounds end to end: prompts refused by what they cost, repeated query parameters refused, no source maps served.
 */
import t from 'tap';
import { StreamClient } from '../bench/lib/raw-stream-client.js';
import { refusedUpgrade } from './helpers/handshake.js';
import { startTestServer } from './helpers/stream-server.js';
import { within } from '../bench/lib/wait.js';

const app = await startTestServer();
t.teardown(() => app.close());

t.test('/stream: a prompt of 512 emoji or one 1,024-letter word is refused with prompt_too_long', async (t) => {
  const client = await StreamClient.connect(app.streamUrl);
  await client.session();
  client.sendJson({ prompt: '😀'.repeat(512) });
  client.sendJson({ prompt: 'a'.repeat(1024) });
  await within(
    client.waitFor(() => client.errors().length >= 2),
    'two errors',
    10_000,
  );
  t.same(
    client.errors().map((e) => e['code']),
    ['prompt_too_long', 'prompt_too_long'],
  );
  client.ws.close();
});

t.test('Deepgram: sample_rate given twice is refused at the upgrade, not taken from the first', async (t) => {
  const refused = await refusedUpgrade(
    `ws://127.0.0.1:${app.port}/v1/listen?encoding=linear16&sample_rate=48000&sample_rate=16000`,
  );
  t.equal(refused.status, 400);
  t.match(refused.body, { err_code: 'Bad Request', err_msg: /sample_rate is given 2 times/ });
});

t.test('the static files are the compiled code without its source maps', async (t) => {
  t.equal((await fetch(`${app.httpUrl}/engine/audio/wav.js`)).status, 200);
  t.equal((await fetch(`${app.httpUrl}/engine/audio/wav.js.map`)).status, 404);
  t.equal((await fetch(`${app.httpUrl}/client/index.js.map`)).status, 404);
});
