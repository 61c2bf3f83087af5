/**
 * docs/COMPATIBILITY.md kept honest: its per-vendor tables are read (every row has a status: supported, differs or not
 * supported), and the row's behaviour is checked against a running server for every row that has a check here (a
 * parameter accepted at the handshake, a message answered, a refusal). Rows marked supported or differs that have no
 * check are listed; a check for a row the tables no longer have fails.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import WebSocket from 'ws';
import { encodeWav } from '../engine/audio/wav.js';
import { projectRoot } from '../engine/index.js';
import type { App } from '../server/app.js';
import { hashApiKey } from '../server/auth/authenticator.js';
import { speech } from './helpers/engine-fixtures.js';
import { refusedAfterUpgrade, refusedUpgrade } from './helpers/handshake.js';
import { MessageLog } from './helpers/message-log.js';
import { startTestServer } from './helpers/stream-server.js';
import { within } from '../bench/lib/wait.js';

type Message = Record<string, unknown>;
type Vendor = 'deepgram' | 'assemblyai' | 'openai';
const STATUSES = ['supported', 'differs', 'not supported'];

interface Row {
  vendor: Vendor;
  table: string;
  /** The names in the first cell (its code spans, or the cell itself). */
  names: string[];
  status: string;
}

/** The status tables of each vendor's section: a `## ` heading names the vendor, a `### ` heading the table. */
function readTables(markdown: string): Row[] {
  const rows: Row[] = [];
  let vendor: Vendor | null = null;
  let table = '';
  let inTable = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('## ')) {
      vendor = line.includes('Deepgram')
        ? 'deepgram'
        : line.includes('AssemblyAI')
          ? 'assemblyai'
          : line.includes('OpenAI')
            ? 'openai'
            : null;
      continue;
    }
    if (line.startsWith('### ')) {
      table = line.slice(4).trim();
      continue;
    }
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    const cells = line
      .slice(1, -1)
      .split('|')
      .map((cell) => cell.trim());
    if (cells[1] === 'status') {
      inTable = true;
      continue;
    }
    if (!inTable || !vendor || /^-+$/.test(cells[0] ?? '')) continue;
    const first = cells[0] ?? '';
    const spans = [...first.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
    rows.push({ vendor, table, names: spans.length > 0 ? spans : [first], status: cells[1] ?? '' });
  }
  return rows;
}

const KEY = 'compatibility-test-key-0123456789';
// A short idle limit, so that the idle rows can be checked; every other check keeps its connection busy.
const app: App = await startTestServer({ API_KEY_HASHES: hashApiKey(KEY), IDLE_TIMEOUT_MS: '2000' });
t.teardown(() => app.close());
const base = `ws://127.0.0.1:${app.port}`;
const WAIT_MS = 20_000;
const jfk = speech('jfk.wav');
const pcm = (samples: Int16Array): Buffer => Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
const silence = (ms: number): Buffer => Buffer.alloc(ms * 32);

/** A connection whose messages (JSON) are kept, and its close. */
class Conn {
  readonly log = new MessageLog<Message>();
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, binary) => {
      if (!binary) this.log.push(JSON.parse(String(data)) as Message);
    });
    ws.on('error', () => undefined);
    this.closed = once(ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
    this.opened = once(ws, 'open').then(() => undefined);
  }

  static open(path: string, query: string, headers: Record<string, string> = {}, protocols: string[] = []): Conn {
    return new Conn(new WebSocket(`${base}${path}?${query}`, protocols, { headers }));
  }

  waitFor(what: string, match: (m: Message) => boolean): Promise<Message> {
    return within(this.log.waitFor(match), what, WAIT_MS);
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message));
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    await within(this.closed, 'the close', WAIT_MS);
  }

  errors(type: string): Message[] {
    return this.log.messages.filter((m) => m['type'] === type);
  }
}

type Check = (t: Test) => Promise<void>;

// Deepgram: /v1/listen.
const DG = '/v1/listen';
const DG_RAW = 'encoding=linear16&sample_rate=16000';
const dgAuth = { authorization: `Token ${KEY}` };
const dg = (query = DG_RAW): Conn => Conn.open(DG, query, dgAuth);
const dgAccepts =
  (query: string): Check =>
  async (t) => {
    const conn = dg(query);
    await within(conn.opened, `the handshake of ${query}`, WAIT_MS);
    t.pass(`accepted: ${query}`);
    await conn.close();
  };
const dgRefuses =
  (query: string, errMsg: RegExp): Check =>
  async (t) => {
    t.match(
      await refusedUpgrade(`${base}${DG}?${query}`, { headers: dgAuth }),
      { status: 400, body: { err_code: 'Bad Request', err_msg: errMsg } },
      `refused: ${query}`,
    );
  };
/** Deepgram's CloseStream: the Metadata that comes before the close. */
const dgCloseStream = async (conn: Conn): Promise<Message> => {
  conn.send({ type: 'CloseStream' });
  const metadata = await conn.waitFor('Metadata', (m) => m['type'] === 'Metadata');
  await within(conn.closed, 'the close after CloseStream', WAIT_MS);
  return metadata;
};

// AssemblyAI: /v3/ws.
const AAI = '/v3/ws';
const aai = (query = 'sample_rate=16000', headers: Record<string, string> = { authorization: KEY }): Conn =>
  Conn.open(AAI, query, headers);
const aaiAccepts =
  (query: string, headers?: Record<string, string>): Check =>
  async (t) => {
    const conn = aai(query, headers);
    t.match(
      await conn.waitFor(`Begin for ${query}`, (m) => m['type'] === 'Begin'),
      { id: String, expires_at: Number },
      `accepted: ${query}`,
    );
    await conn.close();
  };
const aaiRefuses =
  (query: string, message: RegExp): Check =>
  async (t) => {
    t.match(
      await refusedUpgrade(`${base}${AAI}?${query}`, { headers: { authorization: KEY } }),
      { status: 400, body: { error: String, message } },
      `refused: ${query}`,
    );
  };
/** AssemblyAI's Terminate: the Termination that comes before the close. */
const aaiTerminate = async (conn: Conn): Promise<Message> => {
  conn.send({ type: 'Terminate' });
  const termination = await conn.waitFor('Termination', (m) => m['type'] === 'Termination');
  await within(conn.closed, 'the close after Terminate', WAIT_MS);
  return termination;
};

// OpenAI Realtime: /v1/realtime.
const RT = '/v1/realtime';
const rtAuth = { authorization: `Bearer ${KEY}` };
const rt = (query = 'intent=transcription', headers: Record<string, string> = rtAuth, protocols: string[] = []): Conn =>
  Conn.open(RT, query, headers, protocols);
/** A GA session.update of `input` (under session.audio.input) and `session` fields; resolves with what answered it. */
const rtUpdate = async (conn: Conn, input: Message, session: Message = {}): Promise<Message> => {
  await conn.waitFor('session.created', (m) => m['type'] === 'session.created');
  const from = conn.log.messages.length;
  conn.send({
    type: 'session.update',
    event_id: 'compat',
    session: { type: 'transcription', ...session, audio: { input } },
  });
  return conn.waitFor(
    'the answer to session.update',
    (m) => conn.log.messages.indexOf(m) >= from && (m['type'] === 'session.updated' || m['type'] === 'error'),
  );
};
const rtUpdated =
  (input: Message, shown: Message, session: Message = {}): Check =>
  async (t) => {
    const conn = rt();
    t.match(await rtUpdate(conn, input, session), { type: 'session.updated', session: shown });
    await conn.close();
  };
const rtRefused =
  (event: Message | string, code: string, param: string | null): Check =>
  async (t) => {
    const conn = rt();
    await conn.waitFor('session.created', (m) => m['type'] === 'session.created');
    conn.send(event);
    t.match(await conn.waitFor('an error', (m) => m['type'] === 'error'), { error: { code, param } });
    await conn.close();
  };
/** An upload of 1 s of jfk.wav (or `file`) to the file API, with more form fields. */
const upload = async (fields: Record<string, string>, file = encodeWav(jfk.subarray(0, 16000))): Promise<Response> => {
  const form = new FormData();
  form.set('file', new Blob([file], { type: 'audio/wav' }), 'a.wav');
  form.set('model', 'whisper-1');
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  return fetch(`${app.httpUrl}/v1/audio/transcriptions`, { method: 'POST', headers: rtAuth, body: form });
};

const CHECKS: Record<Vendor, Record<string, Record<string, Check>>> = {
  deepgram: {
    Connecting: {
      'Authorization: Token <key>': dgAccepts(DG_RAW),
      'Authorization: Bearer <token>': async (t) => {
        const conn = Conn.open(DG, DG_RAW, { authorization: `Bearer ${KEY}` });
        await within(conn.opened, 'the handshake', WAIT_MS);
        t.pass('accepted');
        await conn.close();
      },
      token: async (t) => {
        const conn = Conn.open(DG, DG_RAW, {}, ['token', KEY]);
        await within(conn.opened, 'the handshake', WAIT_MS);
        t.equal(conn.ws.protocol, 'token');
        await conn.close();
      },
      bearer: async (t) => {
        const conn = Conn.open(DG, DG_RAW, {}, ['bearer', KEY]);
        await within(conn.opened, 'the handshake', WAIT_MS);
        t.equal(conn.ws.protocol, 'bearer');
        await conn.close();
      },
      'anything else': async (t) => {
        t.match(await refusedUpgrade(`${base}${DG}?${DG_RAW}`, { headers: { authorization: 'Token wrong' } }), {
          status: 401,
          body: { err_code: 'INVALID_AUTH', err_msg: String, request_id: String },
        });
      },
    },
    'Query parameters': {
      encoding: async (t) => {
        await dgAccepts('encoding=mulaw&sample_rate=8000')(t);
        await dgAccepts('')(t);
        await dgRefuses('encoding=speex&sample_rate=16000', /linear16/)(t);
      },
      sample_rate: dgRefuses('encoding=linear16', /needs sample_rate/),
      channels: dgAccepts(`${DG_RAW}&channels=2`),
      multichannel: async (t) => {
        await dgAccepts(`${DG_RAW}&multichannel=false`)(t);
        await dgRefuses(`${DG_RAW}&multichannel=true`, /multichannel/)(t);
      },
      language: async (t) => {
        await dgAccepts(`${DG_RAW}&language=en-US`)(t);
        await dgRefuses(`${DG_RAW}&language=xx`, /xx/)(t);
      },
      interim_results: dgAccepts(`${DG_RAW}&interim_results=true`),
      endpointing: async (t) => {
        await dgAccepts(`${DG_RAW}&endpointing=300`)(t);
        await dgAccepts(`${DG_RAW}&endpointing=false`)(t);
        await dgRefuses(`${DG_RAW}&endpointing=soon`, /endpointing/)(t);
      },
      utterance_end_ms: async (t) => {
        await dgAccepts(`${DG_RAW}&utterance_end_ms=1000`)(t);
        await dgRefuses(`${DG_RAW}&utterance_end_ms=0`, /utterance_end_ms/)(t);
      },
      vad_events: async (t) => {
        const conn = dg(`${DG_RAW}&vad_events=true`);
        await within(conn.opened, 'the handshake', WAIT_MS);
        for (let at = 0; at < 16000 * 2; at += 1600) conn.send(pcm(jfk.subarray(at, at + 1600)));
        t.match(await conn.waitFor('SpeechStarted', (m) => m['type'] === 'SpeechStarted'), {
          channel: [0, 1],
          timestamp: Number,
        });
        await dgCloseStream(conn);
      },
      punctuate: dgAccepts(`${DG_RAW}&punctuate=true&smart_format=true`),
      keyterm: async (t) => {
        await dgAccepts(`${DG_RAW}&keyterm=Kennedy&keyterm=Americans`)(t);
        await dgRefuses(`${DG_RAW}&keyterm=${'x'.repeat(2000)}`, /prompt/)(t);
      },
      callback: dgRefuses(`${DG_RAW}&callback=https%3A%2F%2Fexample.com`, /callback/),
      model: dgAccepts(`${DG_RAW}&model=nova-3&version=latest`),
      keywords: dgAccepts(`${DG_RAW}&keywords=Kennedy%3A2&diarize=true&tag=x&mip_opt_out=true`),
    },
    'Client messages': {
      'binary frame': async (t) => {
        const conn = dg();
        await within(conn.opened, 'the handshake', WAIT_MS);
        conn.send(silence(100));
        conn.send(Buffer.alloc(3));
        t.match(
          await conn.waitFor('an Error', (m) => m['type'] === 'Error'),
          { code: 'ODD_FRAME_LENGTH' },
          'a frame of half a sample is refused',
        );
        t.match(await dgCloseStream(conn), { duration: 0.1 }, 'the good frame was taken');
      },
      KeepAlive: async (t) => {
        const conn = dg();
        await within(conn.opened, 'the handshake', WAIT_MS);
        conn.send({ type: 'KeepAlive' });
        await dgCloseStream(conn);
        t.same(conn.errors('Error'), [], 'no error');
      },
      Finalize: async (t) => {
        const conn = dg();
        await within(conn.opened, 'the handshake', WAIT_MS);
        conn.send(silence(200));
        conn.send({ type: 'Finalize' });
        t.match(await conn.waitFor('the Finalize answer', (m) => m['from_finalize'] === true), {
          type: 'Results',
          is_final: true,
          speech_final: false,
        });
        t.equal(conn.ws.readyState, WebSocket.OPEN, 'the stream goes on');
        await dgCloseStream(conn);
      },
      CloseStream: async (t) => {
        const conn = dg();
        await within(conn.opened, 'the handshake', WAIT_MS);
        t.match(await dgCloseStream(conn), { type: 'Metadata', request_id: String, sha256: String, duration: 0 });
        t.equal((await conn.closed).code, 1000);
      },
      'any other text': async (t) => {
        const conn = dg();
        await within(conn.opened, 'the handshake', WAIT_MS);
        conn.send('{"type": "Nope"}');
        t.match(await conn.waitFor('an Error', (m) => m['type'] === 'Error'), {
          code: 'UNPARSABLE_CLIENT_MESSAGE',
          description: String,
        });
        await dgCloseStream(conn);
      },
    },
    'Server messages': {
      Results: async (t) => {
        const conn = dg();
        await within(conn.opened, 'the handshake', WAIT_MS);
        conn.send({ type: 'Finalize' });
        const results = await conn.waitFor('Results', (m) => m['type'] === 'Results');
        t.same(Object.keys(results).sort(), [
          'channel',
          'channel_index',
          'duration',
          'from_finalize',
          'is_final',
          'metadata',
          'speech_final',
          'start',
          'type',
        ]);
        await dgCloseStream(conn);
      },
      Metadata: async (t) => {
        const conn = dg();
        await within(conn.opened, 'the handshake', WAIT_MS);
        t.same(Object.keys(await dgCloseStream(conn)).sort(), [
          'channels',
          'created',
          'duration',
          'request_id',
          'sha256',
          'transaction_key',
          'type',
        ]);
      },
      Error: async (t) => {
        const conn = dg();
        await within(conn.opened, 'the handshake', WAIT_MS);
        conn.send('not json');
        t.same(Object.keys(await conn.waitFor('an Error', (m) => m['type'] === 'Error')).sort(), [
          'code',
          'description',
          'type',
        ]);
        t.equal(conn.ws.readyState, WebSocket.OPEN, 'the connection stays open');
        await dgCloseStream(conn);
      },
    },
    'Handshake answers and close codes': {
      '400': async (t) => {
        const refused = await refusedUpgrade(`${base}${DG}?encoding=speex`, { headers: dgAuth });
        t.equal(refused.status, 400);
        t.same(Object.keys(refused.body).sort(), ['err_code', 'err_msg', 'request_id']);
      },
      '401': async (t) => {
        t.equal((await refusedUpgrade(`${base}${DG}?${DG_RAW}`)).status, 401);
      },
      'NET-0001': async (t) => {
        const conn = dg();
        t.match(await within(conn.closed, 'the idle close', WAIT_MS), { code: 1011, reason: /^NET-0001/ });
      },
      '1000': async (t) => {
        const conn = dg();
        await within(conn.opened, 'the handshake', WAIT_MS);
        await dgCloseStream(conn);
        t.equal((await conn.closed).code, 1000);
      },
    },
  },
  assemblyai: {
    Connecting: {
      'Authorization: <key>': aaiAccepts('sample_rate=16000'),
      token: aaiAccepts(`sample_rate=16000&token=${KEY}`, {}),
      'anything else': async (t) => {
        t.match(await refusedAfterUpgrade(`${base}${AAI}?sample_rate=16000`, { headers: { authorization: 'wrong' } }), {
          code: 4001,
          reason: 'Not Authorized',
          messages: [{ type: 'Error', error_code: 4001 }],
        });
      },
    },
    'Temporary tokens: `GET /v3/token`': {
      'GET /v3/token': async (t) => {
        const answer = await fetch(`${app.httpUrl}/v3/token?expires_in_seconds=60`, {
          headers: { authorization: KEY },
        });
        t.equal(answer.status, 200);
        const { token } = (await answer.json()) as { token: string };
        await aaiAccepts(`sample_rate=16000&token=${token}`, {})(t);
      },
      expires_in_seconds: async (t) => {
        t.equal(
          (await fetch(`${app.httpUrl}/v3/token?expires_in_seconds=601`, { headers: { authorization: KEY } })).status,
          400,
        );
      },
      max_session_duration_seconds: async (t) => {
        t.equal(
          (
            await fetch(`${app.httpUrl}/v3/token?expires_in_seconds=60&max_session_duration_seconds=600`, {
              headers: { authorization: KEY },
            })
          ).status,
          200,
        );
      },
    },
    'Query parameters': {
      sample_rate: async (t) => {
        await aaiAccepts('sample_rate=8000')(t);
        await aaiRefuses('sample_rate=100', /sample_rate/)(t);
      },
      encoding: async (t) => {
        await aaiAccepts('sample_rate=8000&encoding=pcm_mulaw')(t);
        await aaiAccepts('encoding=ogg_opus')(t);
        await aaiRefuses('encoding=aac', /pcm_s16le/)(t);
      },
      format_turns: aaiAccepts('sample_rate=16000&format_turns=true'),
      min_turn_silence: aaiAccepts('sample_rate=16000&min_turn_silence=300&min_end_of_turn_silence_when_confident=300'),
      max_turn_silence: aaiAccepts('sample_rate=16000&max_turn_silence=1000'),
      end_of_turn_confidence_threshold: async (t) => {
        await aaiAccepts('sample_rate=16000&end_of_turn_confidence_threshold=0.5')(t);
        await aaiRefuses('end_of_turn_confidence_threshold=2', /end_of_turn_confidence_threshold/)(t);
      },
      keyterms_prompt: async (t) => {
        await aaiAccepts(`sample_rate=16000&keyterms_prompt=${encodeURIComponent('["Kennedy"]')}`)(t);
        await aaiRefuses('keyterms_prompt=x', /keyterms_prompt/)(t);
      },
      inactivity_timeout: async (t) => {
        await aaiRefuses('inactivity_timeout=4', /inactivity_timeout/)(t);
        // The server's 2 s idle limit is shorter here: it closes the same way.
        const conn = aai('sample_rate=16000&inactivity_timeout=5');
        await conn.waitFor('Begin', (m) => m['type'] === 'Begin');
        t.equal((await within(conn.closed, 'the inactivity close', WAIT_MS)).code, 1000);
        t.match(conn.log.messages.at(-1), { type: 'Termination' });
      },
      speech_model: aaiAccepts('sample_rate=16000&speech_model=universal-streaming-english&language_code=en'),
      vad_threshold: aaiAccepts('sample_rate=16000&vad_threshold=0.5&speaker_labels=true&filter_profanity=true'),
    },
    'Client messages': {
      'binary frame': async (t) => {
        const conn = aai();
        await conn.waitFor('Begin', (m) => m['type'] === 'Begin');
        conn.send(silence(100));
        conn.send(Buffer.alloc(3));
        t.match(await conn.waitFor('an Error', (m) => m['type'] === 'Error'), { error_code: 3006 });
        t.match(await aaiTerminate(conn), { audio_duration_seconds: 0.1 }, 'the good frame was taken');
      },
      UpdateConfiguration: async (t) => {
        const conn = aai();
        await conn.waitFor('Begin', (m) => m['type'] === 'Begin');
        conn.send({
          type: 'UpdateConfiguration',
          min_turn_silence: 300,
          end_of_turn_confidence_threshold: 0.5,
          format_turns: true,
        });
        conn.send({ type: 'UpdateConfiguration', min_turn_silence: 'soon' });
        t.match(await conn.waitFor('an Error', (m) => m['type'] === 'Error'), { error_code: 3006 });
        await aaiTerminate(conn);
        t.equal(conn.errors('Error').length, 1, 'only the bad one was refused');
      },
      ForceEndpoint: async (t) => {
        const conn = aai();
        await conn.waitFor('Begin', (m) => m['type'] === 'Begin');
        conn.send(silence(200));
        conn.send({ type: 'ForceEndpoint' });
        await aaiTerminate(conn);
        t.same(conn.errors('Error'), [], 'no error');
      },
      KeepAlive: async (t) => {
        const conn = aai();
        await conn.waitFor('Begin', (m) => m['type'] === 'Begin');
        conn.send({ type: 'KeepAlive' });
        await aaiTerminate(conn);
        t.same(conn.errors('Error'), [], 'no error');
      },
      Terminate: async (t) => {
        const conn = aai();
        await conn.waitFor('Begin', (m) => m['type'] === 'Begin');
        t.match(await aaiTerminate(conn), { type: 'Termination', audio_duration_seconds: 0 });
      },
      'any other text': async (t) => {
        const conn = aai();
        await conn.waitFor('Begin', (m) => m['type'] === 'Begin');
        conn.send('{"type": "Nope"}');
        t.match(await conn.waitFor('an Error', (m) => m['type'] === 'Error'), { error_code: 3006 });
        await aaiTerminate(conn);
      },
    },
    'Server messages': {
      Begin: async (t) => {
        const conn = aai();
        t.same(Object.keys(await conn.waitFor('Begin', (m) => m['type'] === 'Begin')).sort(), [
          'expires_at',
          'id',
          'type',
        ]);
        await conn.close();
      },
      Termination: async (t) => {
        const conn = aai();
        await conn.waitFor('Begin', (m) => m['type'] === 'Begin');
        t.same(Object.keys(await aaiTerminate(conn)).sort(), [
          'audio_duration_seconds',
          'session_duration_seconds',
          'type',
        ]);
      },
      Error: async (t) => {
        const conn = aai();
        await conn.waitFor('Begin', (m) => m['type'] === 'Begin');
        conn.send('[');
        t.same(Object.keys(await conn.waitFor('an Error', (m) => m['type'] === 'Error')).sort(), [
          'error',
          'error_code',
          'type',
        ]);
        t.equal(conn.ws.readyState, WebSocket.OPEN, 'the connection stays open');
        await aaiTerminate(conn);
      },
    },
    'Handshake answers and close codes': {
      '400': async (t) => {
        t.match(await refusedUpgrade(`${base}${AAI}?encoding=aac`, { headers: { authorization: KEY } }), {
          status: 400,
          body: { error: 'bad_option', message: String },
        });
      },
      '4001': async (t) => {
        t.match(await refusedAfterUpgrade(`${base}${AAI}?sample_rate=16000`), { code: 4001 });
      },
      '1000': async (t) => {
        const conn = aai();
        await conn.waitFor('Begin', (m) => m['type'] === 'Begin');
        await aaiTerminate(conn);
        t.equal((await conn.closed).code, 1000, 'after Terminate');
      },
      '4002, 4003, 1008, 1001': async (t) => {
        const conn = aai();
        t.equal((await within(conn.closed, 'the idle close', WAIT_MS)).code, 4002);
      },
    },
  },
  openai: {
    'Realtime: connecting to `wss://HOST/v1/realtime`': {
      intent: async (t) => {
        const conn = rt();
        await conn.waitFor('session.created', (m) => m['type'] === 'session.created');
        await conn.close();
        t.equal((await refusedUpgrade(`${base}${RT}?intent=conversation`, { headers: rtAuth })).status, 400);
      },
      model: async (t) => {
        const conn = rt('model=gpt-realtime');
        t.match(await conn.waitFor('session.created', (m) => m['type'] === 'session.created'), {
          session: { type: 'transcription' },
        });
        await conn.close();
      },
      call_id: async (t) => {
        t.equal((await refusedUpgrade(`${base}${RT}?call_id=rtc_1`, { headers: rtAuth })).status, 400);
      },
      'Authorization: Bearer <key>': async (t) => {
        const conn = rt();
        t.match(await conn.waitFor('session.created', (m) => m['type'] === 'session.created'), {
          session: { id: /^sess_/ },
        });
        await conn.close();
      },
      realtime: async (t) => {
        const conn = rt('intent=transcription', {}, ['realtime', `openai-insecure-api-key.${KEY}`]);
        await conn.waitFor('session.created', (m) => m['type'] === 'session.created');
        t.equal(conn.ws.protocol, 'realtime');
        await conn.close();
      },
      'OpenAI-Organization': async (t) => {
        const conn = rt('intent=transcription', {
          ...rtAuth,
          'openai-organization': 'org-1',
          'openai-project': 'proj-1',
        });
        await conn.waitFor('session.created', (m) => m['type'] === 'session.created');
        t.pass('accepted');
        await conn.close();
      },
      'OpenAI-Beta: realtime=v1': async (t) => {
        const conn = rt('intent=transcription', { ...rtAuth, 'openai-beta': 'realtime=v1' });
        t.match(await conn.waitFor('the first event', () => true), { type: 'transcription_session.created' });
        await conn.close();
      },
      'a missing or wrong key': async (t) => {
        t.equal(
          (await refusedUpgrade(`${base}${RT}?intent=transcription`, { headers: { authorization: 'Bearer wrong' } }))
            .status,
          401,
        );
      },
    },
    'Realtime: client events': {
      'session.type': async (t) => {
        await rtUpdated({}, { type: 'transcription' })(t);
        await rtRefused({ type: 'session.update', session: { type: 'realtime' } }, 'invalid_value', 'session.type')(t);
      },
      format: async (t) => {
        await rtUpdated(
          { format: { type: 'audio/pcmu' } },
          { audio: { input: { format: { type: 'audio/pcmu' } } } },
        )(t);
        await rtRefused(
          { type: 'session.update', session: { audio: { input: { format: { type: 'audio/pcm', rate: 16000 } } } } },
          'invalid_value',
          'session.audio.input.format.rate',
        )(t);
      },
      'transcription.model': rtUpdated(
        { transcription: { model: 'gpt-4o-transcribe' } },
        { audio: { input: { transcription: { model: 'gpt-4o-transcribe' } } } },
      ),
      'transcription.language': async (t) => {
        await rtUpdated(
          { transcription: { language: 'en' } },
          { audio: { input: { transcription: { language: 'en' } } } },
        )(t);
        await rtRefused(
          { type: 'session.update', session: { audio: { input: { transcription: { language: 'xx' } } } } },
          'unknown_language',
          null,
        )(t);
      },
      'transcription.prompt': rtUpdated(
        { transcription: { prompt: 'Kennedy' } },
        { audio: { input: { transcription: { prompt: 'Kennedy' } } } },
      ),
      server_vad: rtUpdated(
        { turn_detection: { type: 'server_vad' } },
        { audio: { input: { turn_detection: { type: 'server_vad' } } } },
      ),
      'turn_detection.silence_duration_ms': async (t) => {
        await rtUpdated(
          { turn_detection: { type: 'server_vad', silence_duration_ms: 700 } },
          { audio: { input: { turn_detection: { silence_duration_ms: 700 } } } },
        )(t);
        await rtRefused(
          { type: 'session.update', session: { audio: { input: { turn_detection: { silence_duration_ms: 50 } } } } },
          'invalid_value',
          'session.audio.input.turn_detection.silence_duration_ms',
        )(t);
      },
      'turn_detection.threshold': rtUpdated(
        { turn_detection: { type: 'server_vad', threshold: 0.7, prefix_padding_ms: 300 } },
        { audio: { input: { turn_detection: { threshold: 0.5, prefix_padding_ms: 200 } } } },
      ),
      semantic_vad: rtUpdated(
        { turn_detection: { type: 'semantic_vad', eagerness: 'low' } },
        { audio: { input: { turn_detection: { type: 'semantic_vad', eagerness: 'low' } } } },
      ),
      'turn_detection: null': rtUpdated({ turn_detection: null }, { audio: { input: { turn_detection: null } } }),
      include: async (t) => {
        await rtUpdated(
          {},
          { include: ['item.input_audio_transcription.logprobs'] },
          { include: ['item.input_audio_transcription.logprobs'] },
        )(t);
        await rtRefused({ type: 'session.update', session: { include: ['x'] } }, 'invalid_value', 'session.include')(t);
      },
      'input_audio_buffer.append': async (t) => {
        const conn = rt();
        await conn.waitFor('session.created', (m) => m['type'] === 'session.created');
        conn.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(9600).toString('base64') });
        conn.send({ type: 'input_audio_buffer.append', audio: 'AA==' });
        t.match(
          await conn.waitFor('an error', (m) => m['type'] === 'error'),
          { error: { code: 'invalid_value', param: 'audio' } },
          'an odd number of bytes is refused',
        );
        conn.send({ type: 'input_audio_buffer.commit' });
        await conn.waitFor('the committed item', (m) => m['type'] === 'input_audio_buffer.committed');
        t.equal(conn.errors('error').length, 1, 'the good append was taken: its audio was committed');
        await conn.close();
      },
      'input_audio_buffer.commit': async (t) => {
        const conn = rt();
        await conn.waitFor('session.created', (m) => m['type'] === 'session.created');
        conn.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(24000).toString('base64') });
        conn.send({ type: 'input_audio_buffer.commit' });
        const completed = await conn.waitFor(
          'completed',
          (m) => m['type'] === 'conversation.item.input_audio_transcription.completed',
        );
        t.match(completed, { transcript: '' }, 'silence: an item with an empty transcript');
        t.equal(conn.errors('input_audio_buffer.committed').length, 1, 'one commit, one item');
        await conn.close();
      },
      'input_audio_buffer.clear': async (t) => {
        const conn = rt();
        await conn.waitFor('session.created', (m) => m['type'] === 'session.created');
        conn.send({ type: 'input_audio_buffer.clear' });
        await conn.waitFor('cleared', (m) => m['type'] === 'input_audio_buffer.cleared');
        t.pass('cleared');
        await conn.close();
      },
      'conversation.item.create': rtRefused({ type: 'conversation.item.create', item: {} }, 'invalid_value', 'type'),
      'binary frames': async (t) => {
        const conn = rt();
        await conn.waitFor('session.created', (m) => m['type'] === 'session.created');
        conn.send(Buffer.from([1, 2]));
        t.match(await conn.waitFor('an error', (m) => m['type'] === 'error'), { error: { code: 'invalid_type' } });
        await conn.close();
      },
      'text that is not JSON, or JSON that is not an object': async (t) => {
        await rtRefused('{not json', 'invalid_json', null)(t);
        await rtRefused('[1]', 'invalid_type', null)(t);
      },
    },
    'Realtime: client secrets for browsers': {
      'POST /v1/realtime/client_secrets': async (t) => {
        const answer = await fetch(`${app.httpUrl}/v1/realtime/client_secrets`, {
          method: 'POST',
          headers: { ...rtAuth, 'content-type': 'application/json' },
          body: JSON.stringify({ session: { type: 'transcription' } }),
        });
        t.equal(answer.status, 200);
        const { value } = (await answer.json()) as { value: string };
        t.match(value, /^ek_/);
        const conn = rt('intent=transcription', { authorization: `Bearer ${value}` });
        await conn.waitFor('session.created', (m) => m['type'] === 'session.created');
        await conn.close();
      },
      'POST /v1/realtime/transcription_sessions': async (t) => {
        const answer = await fetch(`${app.httpUrl}/v1/realtime/transcription_sessions`, {
          method: 'POST',
          headers: { ...rtAuth, 'content-type': 'application/json' },
          body: '{}',
        });
        t.match(await answer.json(), { client_secret: { value: /^ek_/, expires_at: Number } });
      },
    },
    'Realtime: server events': {
      'session.created': async (t) => {
        const conn = rt();
        t.match(await conn.waitFor('session.created', (m) => m['type'] === 'session.created'), {
          event_id: String,
          session: { id: /^sess_/, type: 'transcription' },
        });
        await conn.close();
      },
      'session.updated': rtUpdated({}, { type: 'transcription' }),
      'input_audio_buffer.committed': async (t) => {
        const conn = rt();
        await conn.waitFor('session.created', (m) => m['type'] === 'session.created');
        conn.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(24000).toString('base64') });
        conn.send({ type: 'input_audio_buffer.commit' });
        await conn.waitFor('completed', (m) => m['type'] === 'conversation.item.input_audio_transcription.completed');
        const types = conn.log.messages.map((m) => m['type']);
        const at = types.indexOf('input_audio_buffer.committed');
        t.same(types.slice(at, at + 4), [
          'input_audio_buffer.committed',
          'conversation.item.added',
          'conversation.item.done',
          'conversation.item.input_audio_transcription.completed',
        ]);
        t.match(conn.log.messages[at + 1], {
          item: {
            id: conn.log.messages[at]?.['item_id'],
            role: 'user',
            content: [{ type: 'input_audio', transcript: null }],
          },
        });
        await conn.close();
      },
      'conversation.item.created': async (t) => {
        const conn = rt('intent=transcription', { ...rtAuth, 'openai-beta': 'realtime=v1' });
        await conn.waitFor('created', (m) => m['type'] === 'transcription_session.created');
        conn.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(24000).toString('base64') });
        conn.send({ type: 'input_audio_buffer.commit' });
        t.match(await conn.waitFor('the item', (m) => m['type'] === 'conversation.item.created'), {
          item: { type: 'message', role: 'user' },
        });
        await conn.close();
      },
      'input_audio_buffer.cleared': async (t) => {
        const conn = rt();
        await conn.waitFor('session.created', (m) => m['type'] === 'session.created');
        conn.send({ type: 'input_audio_buffer.clear' });
        t.match(await conn.waitFor('cleared', (m) => m['type'] === 'input_audio_buffer.cleared'), { event_id: String });
        await conn.close();
      },
      error: rtRefused({ type: 'nope', event_id: 'mine' }, 'invalid_value', 'type'),
    },
    'Files: `POST /v1/audio/transcriptions` and `POST /v1/audio/translations`': {
      file: async (t) => {
        const answer = await upload({});
        t.equal(answer.status, 200);
        t.match(await answer.json(), { text: String });
        t.equal((await upload({}, Buffer.from('not audio at all, not a container'))).status, 400);
      },
      model: async (t) => {
        t.equal((await upload({ model: 'gpt-4o-transcribe' })).status, 200);
      },
      response_format: async (t) => {
        t.equal((await upload({ response_format: 'text' })).status, 200);
        t.match(await (await upload({ response_format: 'srt' })).json(), {
          error: { code: 'unsupported_response_format' },
        });
      },
      'timestamp_granularities[]': async (t) => {
        t.match(await (await upload({ response_format: 'verbose_json', 'timestamp_granularities[]': 'word' })).json(), {
          words: Array,
        });
      },
    },
  },
};

const rows = readTables(readFileSync(join(projectRoot, 'docs', 'COMPATIBILITY.md'), 'utf8'));

t.test('every row of every vendor table has a status', async (t) => {
  for (const vendor of ['deepgram', 'assemblyai', 'openai'] as const)
    t.ok(
      rows.some((row) => row.vendor === vendor),
      `${vendor} has tables`,
    );
  for (const row of rows)
    t.ok(STATUSES.includes(row.status), `${row.vendor} / ${row.table} / ${row.names.join(', ')}: "${row.status}"`);
});

t.test('every check names a row of the tables', async (t) => {
  for (const [vendor, tables] of Object.entries(CHECKS)) {
    for (const [table, checks] of Object.entries(tables)) {
      for (const name of Object.keys(checks)) {
        t.ok(
          rows.some((row) => row.vendor === vendor && row.table === table && row.names.includes(name)),
          `${vendor} / ${table} / ${name}`,
        );
      }
    }
  }
});

const unchecked: string[] = [];
for (const row of rows) {
  const checks = Object.entries(CHECKS[row.vendor][row.table] ?? {}).filter(([name]) => row.names.includes(name));
  const names = `${row.names.slice(0, 3).join(', ')}${row.names.length > 3 ? ', ...' : ''}`;
  const label = `${row.vendor} / ${row.table} / ${names} (${row.status})`;
  if (checks.length === 0) {
    if (row.status !== 'not supported') unchecked.push(label);
    continue;
  }
  t.test(label, async (t) => {
    for (const [, check] of checks) await check(t);
  });
}

t.test('rows no check here covers', async (t) => {
  // Behaviour that needs speech transcribed, or minutes of waiting, is checked in the vendor's own test file.
  t.comment(`not checked here (${unchecked.length}):\n${unchecked.join('\n')}`);
  t.pass();
});
