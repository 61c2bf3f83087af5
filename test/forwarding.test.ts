import { existsSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { encodeWav, modelsDir } from '../engine/index.js';
import { hashApiKey } from '../server/auth/authenticator.js';
import { speech, TINY } from './helpers/engine-fixtures.js';
import { checkOrdering, checkShapes } from './helpers/stream-checks.js';
import { StreamClient } from '../bench/lib/raw-stream-client.js';
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
  const transcripts = checkShapes(
    t,
    client.messages.map((m) => m.data),
  );
  checkOrdering(t, transcripts);
  const finals = transcripts.filter((m) => m.is_final);
  t.ok(finals.length >= 2, 'finals arrive');
  t.ok(
    finals.every((m) => m.language === 'en'),
    'in the session language',
  );
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
  t.match(errors[0], {
    code: 'transcription_failed',
    message: new RegExp(
      'remote transcription at http://127\\.0\\.0\\.1:\\d+/v1/audio/transcriptions ' +
        'failed after 2 attempt\\(s\\): cannot reach it',
    ),
  });
});

t.test('a remote that never answers times out, and holds no worker that partials need', async (t) => {
  // Collecting garbage all along is what once lost the request's timeout (a timer only a weak signal held).
  setFlagsFromString('--expose-gc');
  const collect = runInNewContext('gc') as () => void;
  const collecting = setInterval(collect, 250);
  t.teardown(() => clearInterval(collecting));
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket.on('error', () => undefined));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => silent.close(resolve));
  });
  const local = await startTestServer({
    FORWARD_URL: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/v1/audio/transcriptions`,
    FORWARD_RETRIES: '0',
    FORWARD_TIMEOUT_MS: '4000',
    POOL_SIZE: '1',
  });
  t.teardown(() => local.close());

  const waiting = await StreamClient.connect(local.streamUrl);
  await waiting.stream(jfk.subarray(0, 16000 * 2.5), { speed: 4, frameMs: 20 });
  waiting.sendJson({ type: 'flush' });
  const other = await StreamClient.connect(local.streamUrl);
  // At real time its first utterance lasts long enough for partials before its own (remote, hung) final holds it too.
  void other.stream(jfk, { speed: 1, frameMs: 20 });
  const partial = await other.waitFor((m) => m['type'] === 'transcript' && m['is_final'] === false);
  const error = await waiting.waitFor((m) => m['type'] === 'error');
  t.match(error, { code: 'transcription_failed', message: /failed after 1 attempt\(s\): no answer within 4000 ms/ });
  const at = (client: StreamClient, message: Record<string, unknown>): number =>
    client.messages.find((m) => m.data === message)?.at ?? Number.NaN;
  t.ok(
    at(other, partial) < at(waiting, error),
    'another session got a partial from the only worker while the remote final hung (partial at ' +
      `${Math.round(at(other, partial))}, error at ${Math.round(at(waiting, error))})`,
  );
  other.ws.close(1000);
  t.equal((await waiting.end()).code, 1000);
});

t.test('forwarding with no real local model: finals from the remote, no partials, no stand-in loaded', async (t) => {
  const realModel = existsSync(join(modelsDir, 'ggml-tiny.en.bin'));
  const remote = await startTestServer({ WHISPER_MODEL: TINY });
  t.teardown(() => remote.close());
  // WHISPER_MODEL empty: the model would come from models/, which holds only the synthetic stand-in in CI.
  const local = await startTestServer({ WHISPER_MODEL: '', FORWARD_URL: `${remote.httpUrl}/v1/audio/transcriptions` });
  t.teardown(() => local.close());
  const ready = (await (await fetch(`${local.httpUrl}/readyz`)).json()) as {
    model: unknown;
    settings: { partials: boolean };
  };
  if (realModel) {
    t.ok(ready.model, 'the real tiny.en in models/ runs the partials');
    return;
  }
  t.equal(ready.model, null, 'no local model');
  t.equal(ready.settings.partials, false);
  const client = await StreamClient.connect(local.streamUrl);
  await client.stream(jfk, { speed: 4, frameMs: 20 });
  t.equal((await client.end()).code, 1000);
  const transcripts = checkShapes(
    t,
    client.messages.map((m) => m.data),
  );
  checkOrdering(t, transcripts);
  t.ok(transcripts.length >= 2, 'finals arrive');
  t.ok(
    transcripts.every((m) => m.is_final),
    'and nothing but finals',
  );

  const form = new FormData();
  form.append('file', new Blob([encodeWav(jfk)], { type: 'audio/wav' }), 'jfk.wav');
  const upload = await fetch(`${local.httpUrl}/v1/audio/transcriptions`, { method: 'POST', body: form });
  t.equal(upload.status, 200, 'file uploads are forwarded too');
});
