import t from 'tap';
import { hashApiKey } from '../server/auth/authenticator.js';
import { speech, TINY } from './helpers/engine-fixtures.js';
import { checkOrdering, checkShapes } from './helpers/stream-checks.js';
import { StreamClient } from './helpers/stream-client.js';
import { startTestServer } from './helpers/stream-server.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

const jfk = speech('jfk.wav');

t.test('finals are transcribed by a second instance of the server over its OpenAI-compatible API', async (t) => {
  // The remote runs the multilingual model and wants a key, so its answers and its authentication are both visible.
  const remote = await startTestServer({ WHISPER_MODEL: TINY, API_KEY_HASHES: hashApiKey('remote-key') });
  t.teardown(() => remote.close());
  const proxy = await TcpProxy.start(remote.port);
  t.teardown(() => proxy.close());
  const local = await startTestServer({
    FORWARD_URL: `http://127.0.0.1:${proxy.port}/v1/audio/transcriptions`,
    FORWARD_TOKEN: 'remote-key',
  });
  t.teardown(() => local.close());

  const client = await StreamClient.connect(local.streamUrl);
  await client.stream(jfk, { speed: 4, frameMs: 20 });
  t.equal((await client.end()).code, 1000);
  const transcripts = checkShapes(t, client.messages.map((m) => m.data));
  checkOrdering(t, transcripts);
  const finals = transcripts.filter((m) => m.is_final);
  t.ok(finals.length >= 2, 'finals arrive');
  t.ok(finals.every((m) => m.language === 'en'), 'in the session language');
  t.same(client.errors(), [], 'no errors');
  t.ok(proxy.connections >= 1, `the remote server was called (${proxy.connections} connections)`);
});

t.test('a failing remote gives the client a clear error event and the session goes on', async (t) => {
  const closed = await TcpProxy.start(1);
  const deadPort = closed.port;
  await closed.close();
  const local = await startTestServer({
    FORWARD_URL: `http://127.0.0.1:${deadPort}/v1/audio/transcriptions`,
    FORWARD_RETRIES: '1',
    FORWARD_TIMEOUT_MS: '2000',
  });
  t.teardown(() => local.close());
  const client = await StreamClient.connect(local.streamUrl);
  await client.stream(jfk.subarray(0, 16000 * 3), { speed: 4, frameMs: 20 });
  t.equal((await client.end()).code, 1000, 'the session still ends normally');
  const errors = client.errors();
  t.ok(errors.length >= 1, 'an error event per failed final');
  t.match(errors[0], { code: 'transcription_failed', message: /remote transcription at http:\/\/127\.0\.0\.1:\d+\/v1\/audio\/transcriptions failed after 2 attempt\(s\): cannot reach it/ });
});
