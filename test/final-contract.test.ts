/**
 * The contract of finals, on every protocol, with each protocol's own client: what the server marks final never
 * changes. A monologue of 18 s (silero_test_en.wav from 20 s: one speech turn of 17.3 s with a 0.3 s pause) is
 * streamed at twice real time; while it goes on, segment finals must come (how often depends on how fast partials
 * commit words on this machine: bench/load.ts measures it; the 15 s backstop makes at least one), and:
 * - /stream and /speech (Socket.IO): finals tile the turn; partials cover only audio after the last final; each
 *   segment's final comes once and nothing of it after; one final with end_of_speech, the last;
 * - Deepgram: `is_final` on every segment final, `speech_final` only on the turn's last; interim results cover only
 *   audio after the last `is_final`;
 * - AssemblyAI: every word with `word_is_final` appears unchanged in the turn's end-of-turn Turn, which comes
 *   unformatted, then formatted (`format_turns`);
 * - OpenAI Realtime: deltas are append-only and together are exactly the completed transcript.
 * The synthetic model's text changes completely when anything it reads changes, so any contradiction would show.
 * The vendors' SDKs speak only wss:// and trust only the system's CAs, so this file makes a self-signed certificate
 * and runs itself again in a child process that trusts it (NODE_EXTRA_CA_CERTS), where the tests run.
 */
import { DeepgramClient } from '@deepgram/sdk';
import { StreamingTranscriber, type TurnEvent } from 'assemblyai';
import { fileURLToPath } from 'node:url';
import { OpenAI } from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import type { RealtimeServerEvent } from 'openai/resources/realtime/realtime';
import t, { type Test } from 'tap';
import { StreamClient, type Transcript } from '../client/index.js';
import type { App } from '../server/app.js';
import { within } from '../bench/lib/wait.js';
import { hashApiKey } from '../server/auth/authenticator.js';
import { speech } from './helpers/engine-fixtures.js';
import { sendPaced } from './helpers/paced-audio.js';
import { selfSigned } from './helpers/self-signed.js';
import { SpeechIoClient } from './helpers/socketio-client.js';
import { startTestServer } from './helpers/stream-server.js';

const KEY = 'contract-test-key-0123456789';
const SPEED = 2;
/** Longest any one client waits for its session's last message: the audio, plus finals on a busy machine. */
const DRAIN_MS = 120_000;
const monologue = speech('silero_test_en.wav').subarray(20 * 16000, 39_500 * 16);

/** The native shape of a transcript, whichever protocol carried it. */
interface Wire {
  segment_id: number;
  is_final: boolean;
  end_of_speech: boolean;
  start_ms: number;
  end_ms: number;
  text: string;
}

/** /stream and /speech: the contract on the native transcript fields. */
function checkNative(t: Test, transcripts: Wire[], label: string): void {
  const finals = transcripts.filter((m) => m.is_final);
  t.ok(
    finals.filter((m) => !m.end_of_speech).length >= 1,
    `${label}: segment finals came while the monologue went on (${finals.length} finals)`,
  );
  t.same(
    finals.map((m) => m.end_of_speech),
    finals.map((_, i) => i === finals.length - 1),
    `${label}: one final ends the speech turn, the last`,
  );
  for (let i = 1; i < finals.length; i++) {
    t.equal(
      (finals[i] as Wire).start_ms,
      (finals[i - 1] as Wire).end_ms,
      `${label}: final ${i} starts where final ${i - 1} ended`,
    );
  }
  const done = new Set<number>();
  let lastFinalEnd = 0;
  for (const m of transcripts) {
    t.notOk(done.has(m.segment_id), `${label}: nothing of segment ${m.segment_id} after its final`);
    if (m.is_final) {
      done.add(m.segment_id);
      lastFinalEnd = m.end_ms;
    } else {
      t.ok(
        m.start_ms >= lastFinalEnd,
        `${label}: partial of segment ${m.segment_id} starts at ${m.start_ms} ms, after the last final's end ` +
          `${lastFinalEnd}`,
      );
    }
  }
}

const tlsDir = process.env['CONTRACT_TEST_TLS_DIR'];
if (tlsDir === undefined) {
  const cert = await selfSigned();
  t.teardown(() => cert.remove());
  t.spawn(
    process.execPath,
    [fileURLToPath(import.meta.url)],
    { env: { ...process.env, CONTRACT_TEST_TLS_DIR: cert.certFile, NODE_EXTRA_CA_CERTS: cert.certFile } },
    'over TLS, trusting a self-signed certificate',
  );
} else {
  await run(tlsDir);
}

async function run(certFile: string): Promise<void> {
  const keyFile = certFile.replace(/cert\.pem$/, 'key.pem');
  /** A server of each test's own, so one test's finals leave no load behind for the next. */
  async function server(t: Test): Promise<App> {
    const app = await startTestServer({
      API_KEY_HASHES: hashApiKey(KEY),
      TLS_CERT_FILE: certFile,
      TLS_KEY_FILE: keyFile,
    });
    t.teardown(() => app.close());
    return app;
  }
  const paced = { samplesPerS: 16000, chunkMs: 100, speed: SPEED };
  // The protocols side by side: each has a server of its own and checks what is final, not how fast it comes.
  t.jobs = 5;

  t.test('/stream: finals tile the turn and nothing marked final changes', async (t) => {
    const app = await server(t);
    const client = new StreamClient(`wss://127.0.0.1:${app.port}/stream`, { token: KEY });
    const transcripts: Transcript[] = [];
    client.on('partial', (m) => transcripts.push(m));
    client.on('final', (m) => transcripts.push(m));
    await within(client.connect(), 'the /stream connection', 30_000);
    await sendPaced(monologue, paced, (chunk) =>
      client.send(new Int16Array(chunk.buffer, chunk.byteOffset, chunk.byteLength / 2)),
    );
    await within(client.end(), 'the last final and the close', DRAIN_MS);
    checkNative(t, transcripts, '/stream');
  });

  t.test('/speech over Socket.IO: the same contract', async (t) => {
    const app = await server(t);
    const client = await SpeechIoClient.connect(app.httpUrl, { auth: { token: KEY } });
    t.teardown(() => client.socket.close());
    await within(
      client.socket.emitWithAck('start-transcription', { language: 'en' }),
      'the start acknowledgement',
      30_000,
    );
    await sendPaced(monologue, paced, (chunk) => client.socket.emit('audio-chunk', chunk));
    await within(client.socket.emitWithAck('stop-transcription'), 'the stop acknowledgement', DRAIN_MS);
    const transcripts = client.events
      .filter((e) => e.name === 'transcription-partial' || e.name === 'transcription-final')
      .map((e) => e.payload as unknown as Wire);
    checkNative(t, transcripts, '/speech');
  });

  t.test(
    'Deepgram: is_final on every segment final, speech_final only where the turn ends; interim results after the ' +
      'last is_final',
    async (t) => {
      const app = await server(t);
      const client = new DeepgramClient({ apiKey: KEY, baseUrl: `wss://127.0.0.1:${app.port}` });
      const socket = await client.listen.v1.connect({
        model: 'nova-3',
        encoding: 'linear16',
        sample_rate: 16000,
        interim_results: 'true',
        punctuate: 'true',
        reconnectAttempts: 0,
      });
      const results: Record<string, unknown>[] = [];
      socket.on('message', (message: unknown) => {
        const m = message as Record<string, unknown>;
        if (m['type'] === 'Results') results.push(m);
      });
      const closed = new Promise<number>((resolve) => socket.on('close', (event) => resolve(event.code)));
      socket.connect();
      await within(socket.waitForOpen(), 'the Deepgram connection', 30_000);
      await sendPaced(monologue, paced, (chunk) => socket.sendMedia(chunk));
      socket.sendCloseStream({ type: 'CloseStream' });
      t.equal(await within(closed, 'the close after CloseStream', DRAIN_MS), 1000);
      const finals = results.filter((m) => m['is_final'] === true);
      t.ok(finals.length >= 2, `segment finals came (${finals.length})`);
      t.same(
        finals.map((m) => m['speech_final']),
        finals.map((_, i) => i === finals.length - 1),
        'speech_final only on the final that ends the turn',
      );
      let finalEnd = 0;
      for (const m of results) {
        const [start, duration] = [m['start'] as number, m['duration'] as number];
        if (m['is_final'] === true) finalEnd = start + duration;
        else
          t.ok(
            start >= finalEnd - 0.0015,
            `an interim result from ${start} s covers only audio after the last is_final (${finalEnd} s)`,
          );
      }
    },
  );

  t.test(
    'AssemblyAI: every word marked final is in the end-of-turn Turn unchanged; unformatted, then formatted',
    async (t) => {
      const app = await server(t);
      const transcriber = new StreamingTranscriber({
        websocketBaseUrl: `wss://127.0.0.1:${app.port}/v3/ws`,
        apiKey: KEY,
        sampleRate: 16000,
        formatTurns: true,
        connectTimeout: 60_000,
        maxConnectionRetries: 0,
      });
      const turns: TurnEvent[] = [];
      transcriber.on('turn', (turn) => turns.push(turn));
      transcriber.on('error', (error) => t.fail(`AssemblyAI error: ${error.message}`));
      await within(transcriber.connect(), 'the AssemblyAI connection', 30_000);
      await sendPaced(monologue, paced, (chunk) =>
        transcriber.sendAudio(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength)),
      );
      // No timeout of the SDK's own (5 s by default): within() bounds the wait for the last finals.
      await within(transcriber.close(true, 0), 'the Termination', DRAIN_MS);
      const ends = turns.filter((turn) => turn.end_of_turn);
      const shown = turns
        .map((turn) => `${turn.turn_order}${turn.end_of_turn ? (turn.turn_is_formatted ? 'F' : 'E') : 'p'}`)
        .join(' ');
      t.same(
        ends.map((turn) => [turn.turn_order, turn.turn_is_formatted]),
        [
          [0, false],
          [0, true],
        ],
        `the turn ends once unformatted, then once formatted (turns: ${shown})`,
      );
      const [plain] = ends;
      if (!plain) return;
      const key = (w: { text: string; start: number; end: number }): string => `${w.text}@${w.start}-${w.end}`;
      const atEnd = new Set(plain.words.map(key));
      const promised = turns
        .filter((turn) => !turn.end_of_turn)
        .flatMap((turn) => turn.words.filter((w) => w.word_is_final));
      t.ok(promised.length > 0, `words were marked final before the turn ended (${promised.length})`);
      const broken = promised.filter((w) => !atEnd.has(key(w)));
      t.same(broken.map(key), [], 'every one of them is in the end-of-turn Turn, unchanged');
      t.equal(plain.transcript, plain.words.map((w) => w.text).join(' '), 'whose transcript is its words');
    },
  );

  t.test('OpenAI Realtime: deltas are append-only and add up to the completed transcript', async (t) => {
    const app = await server(t);
    const rt = new OpenAIRealtimeWS(
      { intent: 'transcription', options: {} },
      new OpenAI({ apiKey: KEY, baseURL: `${app.httpUrl}/v1` }),
    );
    const events: RealtimeServerEvent[] = [];
    let wake = (): void => undefined;
    rt.on('event', (event) => {
      events.push(event);
      wake();
    });
    rt.on('error', () => undefined);
    t.teardown(() => rt.close());
    await within(
      new Promise<void>((resolve, reject) => {
        rt.socket.once('open', () => resolve());
        rt.socket.once('error', reject);
      }),
      'the Realtime connection',
      30_000,
    );
    // Audio at 24 kHz, as the Realtime API takes it: each 16 kHz sample and half of the next, interpolated.
    const at24 = new Int16Array(Math.floor((monologue.length * 3) / 2));
    for (let i = 0; i < at24.length; i++) {
      const x = (i * 2) / 3;
      const left = Math.floor(x);
      at24[i] = Math.round(
        (monologue[left] ?? 0) * (1 - (x - left)) +
          (monologue[Math.min(left + 1, monologue.length - 1)] ?? 0) * (x - left),
      );
    }
    await sendPaced(at24, { samplesPerS: 24000, chunkMs: 100, speed: SPEED }, (chunk) =>
      rt.send({ type: 'input_audio_buffer.append', audio: chunk.toString('base64') }),
    );
    // 1.5 s of silence ends the turn (server VAD).
    await sendPaced(new Int16Array(36_000), { samplesPerS: 24000, chunkMs: 100, speed: 8 }, (chunk) =>
      rt.send({ type: 'input_audio_buffer.append', audio: chunk.toString('base64') }),
    );
    const completedOne = new Promise<void>((resolve) => {
      wake = () => {
        if (events.some((e) => e.type === 'conversation.item.input_audio_transcription.completed')) resolve();
      };
      wake();
    });
    await within(completedOne, 'the completed transcript', DRAIN_MS);
    const completed = events.filter((e) => e.type === 'conversation.item.input_audio_transcription.completed');
    t.equal(completed.length, 1, 'one item for the one turn');
    for (const done of completed) {
      const deltas = events.filter(
        (e) => e.type === 'conversation.item.input_audio_transcription.delta' && e.item_id === done.item_id,
      );
      t.ok(deltas.length >= 2, `deltas came while the turn went on (${deltas.length})`);
      const joined = deltas
        .map((d) => (d.type === 'conversation.item.input_audio_transcription.delta' ? (d.delta ?? '') : ''))
        .join('');
      t.equal(
        done.type === 'conversation.item.input_audio_transcription.completed' ? done.transcript : null,
        joined,
        'the completed transcript is the deltas joined',
      );
    }
  });
}
