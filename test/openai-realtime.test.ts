/**
 * /v1/realtime with OpenAI's own Node SDK (openai/realtime/ws), which only speaks wss://: the server runs with a
 * self-signed certificate the client is told to trust. jfk.wav goes in at 24 kHz as the SDK's users send it; deltas
 * and completed transcripts come back (nonsense words from the synthetic model, so behaviour is asserted, not text).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { OpenAI } from 'openai';
import { OpenAIRealtimeWS as BetaRealtimeWS } from 'openai/beta/realtime/ws';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import type { RealtimeServerEvent } from 'openai/resources/realtime/realtime';
import t from 'tap';
import WebSocket from 'ws';
import { hashApiKey } from '../server/auth/authenticator.js';
import { audioFixture } from './helpers/audio-fixtures.js';
import { speech } from './helpers/engine-fixtures.js';
import { selfSigned } from './helpers/self-signed.js';
import { startTestServer } from './helpers/stream-server.js';

const KEY = 'sk-realtime-test-0123456789';
const cert = await selfSigned();
t.teardown(() => cert.remove());
/**
 * A wss:// server. Each streaming test gets its own: the synthetic model's finals keep a busy machine's workers
 * loaded for a while, and a loaded server admits no new sessions (503) until that passes. Greedy finals are cheaper;
 * utterances may last 30 s, so one long manual turn stays one item.
 */
const secureServer = (): ReturnType<typeof startTestServer> =>
  startTestServer({
    TLS_CERT_FILE: cert.certFile,
    TLS_KEY_FILE: cert.keyFile,
    API_KEY_HASHES: hashApiKey(KEY),
    FINAL_BEAM_SIZE: '1',
    MAX_UTTERANCE_MS: '30000',
  });
const app = await secureServer();
t.teardown(() => app.close());
const baseURL = `${app.httpUrl}/v1`;

/** jfk.wav at 24 kHz, the Realtime API's rate (linear interpolation from 16 kHz). */
const jfk24 = ((pcm: Int16Array): Int16Array => {
  const out = new Int16Array(Math.floor((pcm.length * 3) / 2));
  for (let i = 0; i < out.length; i++) {
    const at = (i * 2) / 3;
    const left = Math.floor(at);
    const right = Math.min(left + 1, pcm.length - 1);
    out[i] = Math.round((pcm[left] as number) * (1 - (at - left)) + (pcm[right] as number) * (at - left));
  }
  return out;
})(speech('jfk.wav'));
const MS = 24; // samples per millisecond at 24 kHz

type Event = RealtimeServerEvent;

/** An SDK connection that keeps every server event and can wait for one. */
class Session {
  readonly events: Event[] = [];
  private readonly waiters = new Set<() => void>();
  readonly opened: Promise<void>;

  constructor(readonly rt: OpenAIRealtimeWS) {
    rt.on('event', (event) => {
      this.events.push(event);
      for (const wake of this.waiters) wake();
    });
    // Error events are also in `events`; the SDK wants a listener so they are not unhandled.
    rt.on('error', () => undefined);
    this.opened = new Promise((resolve, reject) => {
      rt.socket.once('open', () => resolve());
      rt.socket.once('error', reject);
    });
  }

  static open(options: { apiKey?: string; query?: { model: string }; baseURL?: string } = {}): Session {
    const client = new OpenAI({ apiKey: options.apiKey ?? KEY, baseURL: options.baseURL ?? baseURL });
    const target = options.query ?? { intent: 'transcription' as const };
    return new Session(new OpenAIRealtimeWS({ ...target, options: { ca: cert.cert } }, client));
  }

  until(match: (event: Event) => boolean, from = 0): Promise<Event> {
    const found = this.events.slice(from).find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const wake = (): void => {
        const hit = this.events.slice(from).find(match);
        if (!hit) return;
        this.waiters.delete(wake);
        resolve(hit);
      };
      this.waiters.add(wake);
    });
  }

  of<T extends Event['type']>(type: T): Extract<Event, { type: T }>[] {
    return this.events.filter((e): e is Extract<Event, { type: T }> => e.type === type);
  }

  /** Appends 24 kHz audio in 100 ms events at `speed` times real time. */
  async stream(pcm: Int16Array, speed: number): Promise<void> {
    for (let at = 0; at < pcm.length; at += 100 * MS) {
      const chunk = pcm.subarray(at, at + 100 * MS);
      this.rt.send({
        type: 'input_audio_buffer.append',
        audio: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('base64'),
      });
      await sleep(100 / speed);
    }
  }

  close(): void {
    this.rt.close();
  }
}

const transcriptionUpdate = (turnDetection: { type: 'server_vad'; silence_duration_ms: number } | null) =>
  ({
    type: 'session.update',
    session: {
      type: 'transcription',
      audio: {
        input: {
          format: { type: 'audio/pcm', rate: 24000 },
          transcription: { model: 'gpt-4o-transcribe', language: 'en' },
          turn_detection: turnDetection,
        },
      },
    },
  }) as const;

t.test('a malformed message gets an OpenAI error event, and the socket stays usable', async (t) => {
  const session = Session.open();
  await session.opened;
  await session.until((e) => e.type === 'session.created');
  session.rt.socket.send('{"type": "input_audio_buffer.append", "audio": ');
  t.match(await session.until((e) => e.type === 'error'), {
    type: 'error',
    event_id: String,
    error: { type: 'invalid_request_error', code: 'invalid_json', message: String },
  });
  session.rt.send({ type: 'input_audio_buffer.append', audio: 'not base64!', event_id: 'client-event-9' });
  t.match(await session.until((e) => e.type === 'error' && e.error.event_id === 'client-event-9'), {
    error: { code: 'invalid_value', param: 'audio' },
  });
  session.rt.socket.send(
    JSON.stringify({
      type: 'session.update',
      session: { type: 'transcription', audio: { input: { format: { type: 'audio/opus' } } } },
    }),
  );
  t.match(await session.until((e) => e.type === 'error' && e.error.param === 'session.audio.input.format.type'), {
    error: { code: 'invalid_value' },
  });
  session.rt.send(transcriptionUpdate(null));
  await session.until((e) => e.type === 'session.updated');
  t.equal(session.rt.socket.readyState, WebSocket.OPEN, 'still open and answering');
  session.close();
});

t.test(
  'authentication: refused at the handshake without the key; a Bearer key or the browser subprotocol gets in',
  async (t) => {
    const refused = Session.open({ apiKey: 'sk-wrong' });
    const status = await new Promise<number>((resolve) =>
      refused.rt.socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    t.equal(status, 401, 'a wrong key is refused with 401');

    const url = `wss://127.0.0.1:${app.port}/v1/realtime?intent=transcription`;
    const bare = new WebSocket(url, { ca: cert.cert });
    bare.on('error', () => undefined);
    t.equal(
      await new Promise<number>((resolve) =>
        bare.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
      ),
      401,
      'no key: 401',
    );

    // What OpenAI's browser client sends, where no headers can be set.
    const browser = new WebSocket(url, ['realtime', `openai-insecure-api-key.${KEY}`], { ca: cert.cert });
    const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
      browser.once('message', (data) => resolve(JSON.parse(data.toString()) as Record<string, unknown>));
      browser.once('error', reject);
    });
    t.equal(browser.protocol, 'realtime', 'the server answers with the realtime subprotocol');
    t.equal(first['type'], 'session.created');
    browser.close();
  },
);

t.test('a beta client (OpenAI-Beta: realtime=v1) gets the transcription_session.* names', async (t) => {
  const rt = new BetaRealtimeWS(
    { model: 'gpt-4o-transcribe', options: { ca: cert.cert } },
    new OpenAI({ apiKey: KEY, baseURL }),
  );
  rt.on('error', () => undefined);
  const types: string[] = [];
  const updated = new Promise<unknown>((resolve) =>
    rt.on('event', (event) => {
      types.push(event.type);
      if (event.type === 'transcription_session.updated') resolve(event);
    }),
  );
  await new Promise((resolve, reject) => {
    rt.socket.once('open', resolve);
    rt.socket.once('error', reject);
  });
  // This SDK's beta client types no longer list the transcription update, which beta servers took.
  const update = {
    type: 'transcription_session.update',
    session: {
      input_audio_format: 'pcm16',
      input_audio_transcription: { model: 'whisper-1', prompt: 'Kennedy' },
      turn_detection: { type: 'server_vad', silence_duration_ms: 800 },
    },
  };
  rt.socket.send(JSON.stringify(update));
  t.match(await updated, {
    session: {
      input_audio_format: 'pcm16',
      input_audio_transcription: { model: 'whisper-1', prompt: 'Kennedy' },
      turn_detection: { type: 'server_vad', silence_duration_ms: 800 },
    },
  });
  t.equal(types[0], 'transcription_session.created', 'created under the beta name');
  rt.close();
});

t.test(
  'the SDK streams jfk.wav with manual turns and gets append-only deltas, then the completed transcript',
  async (t) => {
    const own = await secureServer();
    t.teardown(() => own.close());
    const session = Session.open({ baseURL: `${own.httpUrl}/v1` });
    await session.opened;
    t.match(await session.until((e) => e.type === 'session.created'), {
      session: { type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: 24000 } } } },
    });
    session.rt.send(transcriptionUpdate(null));
    t.match(await session.until((e) => e.type === 'session.updated'), {
      session: { audio: { input: { turn_detection: null, transcription: { model: 'gpt-4o-transcribe' } } } },
    });
    // With manual turns silence ends nothing: all of jfk.wav is one turn, finalized segment by segment, until the
    // commit.
    await session.stream(jfk24, 2);
    session.rt.send({ type: 'input_audio_buffer.commit' });
    const completed = await session.until((e) => e.type === 'conversation.item.input_audio_transcription.completed');
    session.close();

    t.notOk(session.of('input_audio_buffer.speech_started').length, 'no VAD events with manual turns');
    t.notOk(session.of('error').length, 'no errors');
    const committed = session.of('input_audio_buffer.committed');
    t.equal(committed.length, 1, 'one commit, one item');
    t.equal(committed[0]?.previous_item_id, null);
    const item = committed[0]?.item_id;
    t.match(completed, { item_id: item, content_index: 0, transcript: String, usage: { type: 'duration' } });
    t.ok(
      completed.type === 'conversation.item.input_audio_transcription.completed' && completed.transcript.length > 0,
      'the final has text',
    );
    const deltas = session.of('conversation.item.input_audio_transcription.delta');
    t.ok(deltas.length > 0, `deltas came (${deltas.length})`);
    t.ok(
      deltas.every((d) => d.item_id === item),
      'all for the item',
    );
    t.equal(
      completed.type === 'conversation.item.input_audio_transcription.completed' ? completed.transcript : '',
      deltas.map((d) => d.delta ?? '').join(''),
      'put together, the deltas are the completed transcript',
    );
    t.ok(
      deltas.slice(1).every((d) => d.delta?.startsWith(' ')),
      'each later delta appends after a space',
    );
    const order = session.events.map((e) => e.type);
    t.ok(
      order.lastIndexOf('conversation.item.input_audio_transcription.delta') <
        order.indexOf('conversation.item.input_audio_transcription.completed'),
      'no delta after the item completed',
    );
    t.ok(
      order.indexOf('input_audio_buffer.committed') <
        order.indexOf('conversation.item.input_audio_transcription.completed'),
      'committed before completed',
    );
    t.ok(
      session.events.every((e) => 'event_id' in e && typeof e.event_id === 'string' && e.event_id !== ''),
      'every event has an event_id',
    );
  },
);

t.test('audio/pcmu: 8 kHz mu-law as telephony sends it, through the SDK, with server VAD', async (t) => {
  const own = await secureServer();
  t.teardown(() => own.close());
  const session = Session.open({ baseURL: `${own.httpUrl}/v1` });
  await session.opened;
  await session.until((e) => e.type === 'session.created');
  session.rt.send({
    type: 'session.update',
    session: {
      type: 'transcription',
      audio: {
        input: {
          format: { type: 'audio/pcmu' },
          transcription: { model: 'whisper-1' },
          turn_detection: { type: 'server_vad', silence_duration_ms: 500 },
        },
      },
    },
  });
  t.match(await session.until((e) => e.type === 'session.updated'), {
    session: { audio: { input: { format: { type: 'audio/pcmu' } } } },
  });
  // jfk.wav as mu-law at 8 kHz (fixtures/audio), in 20 ms appends at real time, as a media stream sends it.
  const mulaw = audioFixture('jfk-8k.ulaw');
  for (let at = 0; at < mulaw.length; at += 160) {
    session.rt.send({
      type: 'input_audio_buffer.append',
      audio: Buffer.from(mulaw.subarray(at, at + 160)).toString('base64'),
    });
    await sleep(20);
  }
  // A second of silence (0xff is mu-law's zero) lets server VAD end the last utterance.
  for (let i = 0; i < 50; i++)
    session.rt.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(160, 0xff).toString('base64') });
  const stopped = await session.until((e) => e.type === 'input_audio_buffer.speech_stopped');
  const completed = await session.until((e) => e.type === 'conversation.item.input_audio_transcription.completed');
  session.close();
  t.notOk(session.of('error').length, 'no errors');
  t.ok(
    stopped.type === 'input_audio_buffer.speech_stopped' && stopped.audio_end_ms > 0 && stopped.audio_end_ms <= 12_000,
    'speech found in the 8 kHz audio, within its 11 s',
  );
  t.ok(
    completed.type === 'conversation.item.input_audio_transcription.completed' && completed.transcript.length > 0,
    'a completed transcript',
  );
});

t.test(
  'server VAD: speech events, one item per utterance chained by previous_item_id; commit finalizes now and the ' +
    'socket stays open',
  async (t) => {
    const own = await secureServer();
    t.teardown(() => own.close());
    const session = Session.open({ query: { model: 'gpt-realtime' }, baseURL: `${own.httpUrl}/v1` });
    await session.opened;
    session.rt.send(transcriptionUpdate({ type: 'server_vad', silence_duration_ms: 500 }));
    await session.until((e) => e.type === 'session.updated');
    // jfk.wav speaks from 0.32 s: commit at 1.5 s, mid-sentence.
    await session.stream(jfk24.subarray(0, 1500 * MS), 2);
    session.rt.send({ type: 'input_audio_buffer.commit' });
    const first = await session.until((e) => e.type === 'conversation.item.input_audio_transcription.completed');
    t.equal(session.rt.socket.readyState, WebSocket.OPEN, 'the socket is still open after the commit');
    // Then up to 4.6 s, the end of its second sentence, and silence, in which the server's VAD ends the last utterance.
    await session.stream(jfk24.subarray(1500 * MS, 4600 * MS), 2);
    await session.stream(new Int16Array(1000 * MS), 2);
    // The second sentence ends at 4.48 s.
    const stopped = await session.until((e) => e.type === 'input_audio_buffer.speech_stopped' && e.audio_end_ms > 4000);
    const last = stopped.type === 'input_audio_buffer.speech_stopped' ? stopped.item_id : '';
    await session.until(
      (e) => e.type === 'conversation.item.input_audio_transcription.completed' && e.item_id === last,
    );
    session.close();

    const started = session.of('input_audio_buffer.speech_started');
    const ended = session.of('input_audio_buffer.speech_stopped');
    t.ok(started.length >= 2, `speech started more than once (${started.length})`);
    t.same(
      ended.map((e) => e.item_id),
      started.slice(0, ended.length).map((e) => e.item_id),
      'each stop names the item its start did',
    );
    t.ok(
      started.every((e, i) => i === 0 || e.audio_start_ms >= (ended[i - 1]?.audio_end_ms ?? 0)),
      'utterances do not overlap',
    );
    const committed = session.of('input_audio_buffer.committed');
    const completed = session.of('conversation.item.input_audio_transcription.completed');
    t.same(
      completed.map((e) => e.item_id),
      committed.map((e) => e.item_id),
      'every committed item completes, in order',
    );
    t.ok(
      committed.every((e, i) => e.previous_item_id === (i === 0 ? null : committed[i - 1]?.item_id)),
      'previous_item_id chains the items',
    );
    t.equal(
      first.type === 'conversation.item.input_audio_transcription.completed' ? first.item_id : '',
      started[0]?.item_id,
      'the commit completed the first utterance',
    );
    t.notOk(session.of('error').length, 'no errors');
  },
);

t.test(
  'the documented transcription session: semantic_vad and include logprobs; each commit adds its item (added, done)',
  async (t) => {
    const own = await secureServer();
    t.teardown(() => own.close());
    const session = Session.open({ baseURL: `${own.httpUrl}/v1` });
    await session.opened;
    await session.until((e) => e.type === 'session.created');
    // The session of OpenAI's realtime transcription guide, with semantic turn detection.
    session.rt.send({
      type: 'session.update',
      session: {
        type: 'transcription',
        audio: {
          input: {
            format: { type: 'audio/pcm', rate: 24000 },
            noise_reduction: { type: 'near_field' },
            transcription: { model: 'gpt-4o-transcribe', prompt: '', language: 'en' },
            turn_detection: { type: 'semantic_vad', eagerness: 'high' },
          },
        },
        include: ['item.input_audio_transcription.logprobs'],
      },
    });
    t.match(await session.until((e) => e.type === 'session.updated'), {
      session: {
        include: ['item.input_audio_transcription.logprobs'],
        audio: { input: { turn_detection: { type: 'semantic_vad', eagerness: 'high' } } },
      },
    });
    await session.stream(jfk24.subarray(0, 4600 * MS), 2);
    await session.stream(new Int16Array(1500 * MS), 2);
    const stopped = await session.until((e) => e.type === 'input_audio_buffer.speech_stopped' && e.audio_end_ms > 4000);
    const last = stopped.type === 'input_audio_buffer.speech_stopped' ? stopped.item_id : '';
    await session.until(
      (e) => e.type === 'conversation.item.input_audio_transcription.completed' && e.item_id === last,
    );
    session.close();

    t.notOk(session.of('error').length, 'no errors');
    const committed = session.of('input_audio_buffer.committed');
    t.ok(committed.length >= 1, `items committed (${committed.length})`);
    for (const commit of committed) {
      const at = session.events.indexOf(commit);
      t.match(
        session.events.slice(at + 1, at + 3),
        [
          {
            type: 'conversation.item.added',
            previous_item_id: commit.previous_item_id,
            item: {
              id: commit.item_id,
              type: 'message',
              role: 'user',
              content: [{ type: 'input_audio', transcript: null }],
            },
          },
          {
            type: 'conversation.item.done',
            previous_item_id: commit.previous_item_id,
            item: { id: commit.item_id, status: 'completed' },
          },
        ],
        `item ${commit.item_id} added and done right after its commit`,
      );
    }
    const deltas = session.of('conversation.item.input_audio_transcription.delta');
    t.ok(deltas.length > 0 && deltas.every((d) => (d.logprobs?.length ?? 0) > 0), 'every delta carries logprobs');
    for (const completed of session.of('conversation.item.input_audio_transcription.completed')) {
      const own = deltas.filter((d) => d.item_id === completed.item_id).flatMap((d) => d.logprobs ?? []);
      t.same(completed.logprobs, own, 'completed: the logprobs of its deltas, in order');
      t.ok(
        (completed.logprobs ?? []).every((l) => Number.isFinite(l.logprob) && l.logprob <= 0 && l.bytes.length > 0),
        'log probabilities, with bytes',
      );
    }
  },
);
