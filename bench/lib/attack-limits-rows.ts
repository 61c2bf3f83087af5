/**
 * Attack rows of issue 24's adversarial pass against the WebSocket protocols, each beside the real-time victim:
 * utterance-ending messages every 200-300 ms (106, 110), huge valid JSON objects (107), an event-loop stall (109),
 * never-reading clients sending replies' worth of updates (111) or huge text (112), and costly prompts (116).
 */
import { join } from 'node:path';
import WebSocket from 'ws';
import { fixturesDir, readWav16kMono } from '../../engine/index.js';
import { Opcode, RawWebSocket, clientFrame } from './attack-clients.js';
import { clock } from './attack-monitor.js';
import type { ServerUnderTest } from './attack-server.js';
import {
  broke,
  degraded,
  held,
  judgeAlive,
  judgeGrowth,
  judgeLag,
  lagText,
  measure,
  outcome,
  rssText,
  sleepUnlessAborted,
  type Check,
  type Scenario,
} from './attack-scenario.js';
import { judgeVictim, runVictim, victimText, type VictimResult } from './attack-victim.js';
import { warmUp } from './attack-warmup.js';
import { StreamClient } from './raw-stream-client.js';

const jfk = (): Int16Array => readWav16kMono(join(fixturesDir, 'speech', 'jfk.wav'));
const DEEPGRAM = { path: '/v1/listen', query: { encoding: 'linear16', sample_rate: '16000', interim_results: 'true' } };
const ASSEMBLYAI = { path: '/v3/ws', query: { sample_rate: '16000' } };
const REALTIME = { path: '/v1/realtime', query: { intent: 'transcription' } };

/** Opens a `ws` client; null when the server refused it. Its errors are the server's business, not the bench's. */
async function open(url: string): Promise<WebSocket | null> {
  const ws = new WebSocket(url);
  ws.on('error', () => undefined);
  const opened = await new Promise<boolean>((resolve) => {
    ws.once('open', () => resolve(true));
    ws.once('error', () => resolve(false));
    ws.once('unexpected-response', () => resolve(false));
  });
  return opened ? ws : null;
}

interface Chatter {
  name: string;
  /** One frame of audio as the protocol sends it. */
  frame: (pcm: Int16Array) => string | Uint8Array;
  /** The utterance-ending message. */
  ending: string;
}

/** 16 kHz PCM as base64 PCM16 at 24 kHz in an input_audio_buffer.append, as OpenAI Realtime clients send it. */
function realtimeAppend(pcm: Int16Array): string {
  const up = new Int16Array(Math.floor((pcm.length * 3) / 2));
  // Linear interpolation: speech all the same for the VAD and the model.
  for (let i = 0; i < up.length; i++) {
    const at = (i * 2) / 3;
    const lo = Math.floor(at);
    const a = pcm[lo] ?? 0;
    up[i] = Math.round(a + ((pcm[lo + 1] ?? a) - a) * (at - lo));
  }
  return JSON.stringify({
    type: 'input_audio_buffer.append',
    audio: Buffer.from(up.buffer, up.byteOffset, up.byteLength).toString('base64'),
  });
}

const binary = (pcm: Int16Array): Uint8Array => new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);

/** Streams jfk.wav in a loop at real time in 20 ms frames, sending `ending` every `everyMs`, until `stop`. */
async function chatter(
  url: string,
  who: Chatter,
  everyMs: number,
  stop: AbortSignal,
): Promise<{ name: string; endings: number; closeCode: number | null }> {
  const ws = await open(url);
  if (!ws) return { name: who.name, endings: 0, closeCode: null };
  let closeCode: number | null = null;
  ws.once('close', (code) => (closeCode = code));
  const pcm = jfk();
  const started = performance.now();
  let endings = 0;
  for (let i = 0; !stop.aborted && ws.readyState === WebSocket.OPEN; i++) {
    const offset = (i * 320) % (pcm.length - 320);
    ws.send(who.frame(pcm.subarray(offset, offset + 320)));
    if ((i * 20) % everyMs < 20) {
      ws.send(who.ending);
      endings++;
    }
    await sleepUnlessAborted(Math.max(0, started + (i + 1) * 20 - performance.now()), stop);
  }
  ws.terminate();
  return { name: who.name, endings, closeCode };
}

/** Utterance-ending messages from three sessions while each speaks, beside the victim. */
function endingsRow(
  row: number,
  title: string,
  everyMs: number,
  who: (server: ServerUnderTest) => { url: string; chatter: Chatter }[],
): Scenario {
  return {
    row,
    title,
    limitS: 90,
    needsBaseline: true,
    async run(ctx) {
      const server = await ctx.startServer();
      const stop = new AbortController();
      ctx.signal.addEventListener('abort', () => stop.abort(), { once: true });
      const from = clock();
      const attackers = Promise.all(who(server).map((a) => chatter(a.url, a.chatter, everyMs, stop.signal)));
      await sleepUnlessAborted(500, ctx.signal);
      const v = await runVictim(server.ws('/stream'));
      stop.abort();
      const results = await attackers;
      const m = await measure(server, from, clock());
      const cut = results.filter((r) => r.closeCode !== null && r.closeCode !== 1000);
      const attackerCheck: Check =
        cut.length === 0
          ? held('the attackers were paced, none refused')
          : degraded(`attackers closed: ${cut.map((r) => `${r.name} ${r.closeCode}`).join(', ')}`);
      const sent = results
        .map((r) => `${r.name}: ${r.endings} sent${r.closeCode ? `, closed ${r.closeCode}` : ''}`)
        .join('; ');
      return outcome(
        [judgeVictim(v, ctx.baseline), attackerCheck, await judgeAlive(server, m.data), judgeLag(m.lag)],
        `${sent}; ${victimText(v)}; ${lagText(m.lag)}`,
        { attackers: results, victim: v, lag: m.lag },
      );
    },
  };
}

const flushes = endingsRow(
  106,
  'flush / Finalize / ForceEndpoint every 200 ms while speaking, 3 sessions',
  200,
  (server) => [
    {
      url: server.ws('/stream'),
      chatter: { name: '/stream flush', frame: binary, ending: JSON.stringify({ type: 'flush' }) },
    },
    {
      url: server.ws(DEEPGRAM.path, DEEPGRAM.query),
      chatter: { name: 'Deepgram Finalize', frame: binary, ending: JSON.stringify({ type: 'Finalize' }) },
    },
    {
      url: server.ws(ASSEMBLYAI.path, ASSEMBLYAI.query),
      chatter: { name: 'AssemblyAI ForceEndpoint', frame: binary, ending: JSON.stringify({ type: 'ForceEndpoint' }) },
    },
  ],
);

const commits = endingsRow(
  110,
  'Realtime input_audio_buffer.commit every 300 ms while speaking, 3 sessions',
  300,
  (server) =>
    [1, 2, 3].map((n) => ({
      url: server.ws(REALTIME.path, REALTIME.query),
      chatter: {
        name: `Realtime ${n}`,
        frame: realtimeAppend,
        ending: JSON.stringify({ type: 'input_audio_buffer.commit' }),
      },
    })),
);

/** A valid JSON object of about 1 MB: the protocol's own fields, then 90,000 more keys. */
function hugeObject(fields: Record<string, unknown>): Buffer {
  const keys = Array.from({ length: 90_000 }, (_, i) => `"k${i}":0`).join(',');
  return clientFrame(Opcode.text, Buffer.from(`{${JSON.stringify(fields).slice(1, -1)},${keys}}`));
}

/** Sends `frame` on one connection as fast as the server reads it, until it is closed or `stop`. */
async function flood(
  url: string,
  frame: Buffer,
  stop: AbortSignal,
): Promise<{ written: number; closeCode: number | null }> {
  const opened = await RawWebSocket.open(url).catch(() => null);
  if (!opened || !('ws' in opened)) return { written: 0, closeCode: null };
  const ws = opened.ws;
  let written = 0;
  while (!stop.aborted && !ws.closed && !ws.socket.destroyed) {
    written++;
    if (!ws.write(frame)) await ws.drained(1000);
  }
  const closeCode = ws.closeCode ?? (ws.socket.destroyed ? 1006 : null);
  ws.destroy();
  return { written, closeCode };
}

const closesText = (closes: Map<number, number>): string =>
  [...closes].map(([code, n]) => `${code}×${n}`).join(' ') || 'none';

const hugeJson: Scenario = {
  row: 107,
  title:
    '4 connections sending valid 1 MB JSON objects with 90,000 keys as fast as read (/stream, Deepgram, ' +
    'AssemblyAI, Realtime)',
  limitS: 90,
  needsBaseline: true,
  async run(ctx) {
    const server = await ctx.startServer();
    const stop = new AbortController();
    ctx.signal.addEventListener('abort', () => stop.abort(), { once: true });
    const from = clock();
    const targets = [
      { name: '/stream', url: server.ws('/stream'), frame: hugeObject({ words: true }) },
      { name: 'Deepgram', url: server.ws(DEEPGRAM.path, DEEPGRAM.query), frame: hugeObject({ type: 'KeepAlive' }) },
      {
        name: 'AssemblyAI',
        url: server.ws(ASSEMBLYAI.path, ASSEMBLYAI.query),
        frame: hugeObject({ type: 'KeepAlive' }),
      },
      {
        name: 'Realtime',
        url: server.ws(REALTIME.path, REALTIME.query),
        frame: hugeObject({ type: 'session.update', session: { type: 'transcription' } }),
      },
    ];
    const floods = Promise.all(targets.map((target) => flood(target.url, target.frame, stop.signal)));
    await sleepUnlessAborted(300, ctx.signal);
    const v = await runVictim(server.ws('/stream'));
    stop.abort();
    const results = await floods;
    const m = await measure(server, from, clock());
    // Written is what the socket took: the kernel's buffers hold a few of them, which the server may never read.
    const text = targets
      .map(
        (target, i) =>
          `${target.name}: ${results[i]?.written ?? 0} written, ` +
          `${results[i]?.closeCode ? `closed ${results[i]?.closeCode}` : 'open'}`,
      )
      .join('; ');
    return outcome(
      [judgeVictim(v, ctx.baseline), await judgeAlive(server, m.data), judgeLag(m.lag)],
      `${text}; ${victimText(v)}; ${lagText(m.lag)}`,
      { victim: v, lag: m.lag, rss: m.rss },
    );
  },
};

/** Streams `seconds` of jfk.wav in `frameMs` frames at real time; how it ended, and the audio the server acked. */
async function innocent(
  url: string,
  frameMs: number,
  seconds: number,
): Promise<{ code: number; errors: string[]; ackedMs: number }> {
  const client = await StreamClient.connect(url);
  client.ws.on('error', () => undefined);
  await client.stream(jfk().subarray(0, 16000 * seconds), { speed: 1, frameMs });
  const closed = await Promise.race([
    client.end(),
    new Promise<{ code: number }>((resolve) => setTimeout(() => resolve({ code: 0 }), 30_000)),
  ]);
  const acks = client.messages.filter((m) => m.data['type'] === 'ack').map((m) => Number(m.data['audio_ms']));
  return { code: closed.code, errors: client.errors().map((e) => String(e['code'])), ackedMs: acks.at(-1) ?? 0 };
}

const STALL_MS = 3000;

const stall: Scenario = {
  row: 109,
  title: `event loop stalled ${STALL_MS / 1000} s (the process stopped) while clients stream 10 ms and 20 ms frames`,
  limitS: 60,
  needsBaseline: false,
  async run(ctx) {
    const server = await ctx.startServer();
    const clients = Promise.all([10, 20].map((frameMs) => innocent(server.ws('/stream'), frameMs, 8)));
    await sleepUnlessAborted(2000, ctx.signal);
    server.signal('SIGSTOP');
    await sleepUnlessAborted(STALL_MS, ctx.signal);
    server.signal('SIGCONT');
    const results = await clients;
    const checks = results.map((r, i): Check => {
      const name = `${[10, 20][i]} ms frames`;
      if (r.code === 1000 && r.errors.length === 0 && r.ackedMs === 8000)
        return held(`${name}: not refused, all 8 s taken`);
      return broke(
        `${name}: closed ${r.code}${r.errors.length > 0 ? `, errors ${r.errors.join(' ')}` : ''}, ` +
          `${r.ackedMs} ms acked`,
      );
    });
    return outcome(
      checks,
      results
        .map(
          (r, i) =>
            `${[10, 20][i]} ms: closed ${r.code}, ${r.ackedMs} ms ` +
            `acked${r.errors.length > 0 ? `, ${r.errors.join(' ')}` : ''}`,
        )
        .join('; '),
      { results },
    );
  },
};

const neverReadingUpdates: Scenario = {
  row: 111,
  title: '30 never-reading /v1/realtime clients each sending 190 session.update (1 KB prompt) a second',
  limitS: 90,
  needsBaseline: true,
  async run(ctx) {
    const server = await ctx.startServer();
    const stop = new AbortController();
    ctx.signal.addEventListener('abort', () => stop.abort(), { once: true });
    await warmUp(server);
    const update = clientFrame(
      Opcode.text,
      Buffer.from(
        JSON.stringify({
          type: 'session.update',
          session: { type: 'transcription', audio: { input: { transcription: { prompt: 'p'.repeat(1000) } } } },
        }),
      ),
    );
    const from = clock();
    const attack = Promise.all(
      Array.from({ length: 30 }, async () => {
        const opened = await RawWebSocket.open(server.ws(REALTIME.path, REALTIME.query)).catch(() => null);
        if (!opened || !('ws' in opened)) return { sent: 0, dropped: false };
        const ws = opened.ws;
        ws.pauseReading();
        let sent = 0;
        const started = performance.now();
        while (!stop.signal.aborted && !ws.socket.destroyed) {
          ws.write(update);
          sent++;
          await sleepUnlessAborted(Math.max(0, started + (sent * 1000) / 190 - performance.now()), stop.signal);
        }
        const dropped = ws.socket.destroyed;
        ws.destroy();
        return { sent, dropped };
      }),
    );
    await sleepUnlessAborted(300, ctx.signal);
    const v = await runVictim(server.ws('/stream'));
    stop.abort();
    const results = await attack;
    const m = await measure(server, from, clock());
    const dropped = results.filter((r) => r.dropped).length;
    return outcome(
      [judgeVictim(v, ctx.baseline), judgeGrowth(m.rss, 64, 150), await judgeAlive(server, m.data), judgeLag(m.lag)],
      `${dropped} of 30 dropped by the server; ${results.reduce((n, r) => n + r.sent, 0)} updates sent; ` +
        `${rssText(m.rss)}; ${victimText(v)}; ${lagText(m.lag)}`,
      { dropped, victim: v, rss: m.rss, lag: m.lag },
    );
  },
};

const neverReadingText: Scenario = {
  row: 112,
  title: '20 never-reading /stream clients writing 900 KB text frames',
  limitS: 90,
  needsBaseline: true,
  async run(ctx) {
    const server = await ctx.startServer();
    const stop = new AbortController();
    ctx.signal.addEventListener('abort', () => stop.abort(), { once: true });
    await warmUp(server);
    const junk = clientFrame(Opcode.text, Buffer.from(`{"language":"${'x'.repeat(900 * 1024)}"}`));
    const from = clock();
    const attack = Promise.all(
      Array.from({ length: 20 }, async () => {
        const opened = await RawWebSocket.open(server.ws('/stream')).catch(() => null);
        if (!opened || !('ws' in opened)) return { sent: 0, code: null };
        const ws = opened.ws;
        ws.pauseReading();
        let sent = 0;
        while (!stop.signal.aborted && !ws.socket.destroyed && sent < 300) {
          sent++;
          if (!ws.write(junk) && !(await ws.drained(2000))) break;
        }
        ws.resumeReading();
        await Promise.race([ws.socketClosed, sleepUnlessAborted(1000, stop.signal)]);
        const code = ws.closeCode;
        ws.destroy();
        return { sent, code };
      }),
    );
    await sleepUnlessAborted(300, ctx.signal);
    const v = await runVictim(server.ws('/stream'));
    stop.abort();
    const results = await attack;
    const m = await measure(server, from, clock());
    const codes = new Map<number, number>();
    for (const r of results) codes.set(r.code ?? 0, (codes.get(r.code ?? 0) ?? 0) + 1);
    return outcome(
      [judgeVictim(v, ctx.baseline), judgeGrowth(m.rss, 64, 150), await judgeAlive(server, m.data), judgeLag(m.lag)],
      `closes ${closesText(codes)} after ${Math.max(...results.map((r) => r.sent))} message(s) at most; ` +
        `${rssText(m.rss)}; ${victimText(v)}; ${lagText(m.lag)}`,
      { results, victim: v, rss: m.rss, lag: m.lag },
    );
  },
};

/** Deterministic lowercase letters with no space: one very long "word". */
function longWord(letters: number, seed: number): string {
  let state = seed;
  let word = '';
  for (let i = 0; i < letters; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    word += String.fromCharCode(97 + ((state >>> 16) % 26));
  }
  return word;
}

/** The first error a /stream client gets for `prompt`, or 'accepted'. */
async function promptOutcome(server: ServerUnderTest, prompt: string): Promise<string> {
  const client = await StreamClient.connect(server.ws('/stream'));
  client.ws.on('error', () => undefined);
  client.sendJson({ prompt });
  // A round trip after it: an unknown message type is answered with an error in order.
  client.sendJson({ type: 'ping' });
  const first = await Promise.race([
    client.waitFor((m) => m['type'] === 'error').catch(() => null),
    new Promise<null>((resolve) => setTimeout(() => resolve(null), 5000)),
  ]);
  client.ws.terminate();
  return first?.['code'] === 'unknown_type' ? 'accepted' : String(first?.['code'] ?? 'no answer');
}

/** The victim beside two sessions speaking without a pause, each with `prompt`. */
async function besideSpeakers(server: ServerUnderTest, prompt: string, signal: AbortSignal): Promise<VictimResult> {
  const stop = new AbortController();
  signal.addEventListener('abort', () => stop.abort(), { once: true });
  const speakers = Promise.all(
    [0, 1].map(async () => {
      const client = await StreamClient.connect(server.ws('/stream'));
      client.ws.on('error', () => undefined);
      client.sendJson({ prompt });
      const pcm = jfk();
      while (!stop.signal.aborted && client.ws.readyState === WebSocket.OPEN)
        await client.stream(pcm.subarray(0, 16000 * 2), { speed: 1, frameMs: 20 });
      client.ws.terminate();
    }),
  );
  await sleepUnlessAborted(300, signal);
  const v = await runVictim(server.ws('/stream'));
  stop.abort();
  await speakers;
  return v;
}

const costlyPrompts: Scenario = {
  row: 116,
  title:
    'prompts of 512 emoji or one 1,024-letter word; two speaking sessions with the costliest prompt accepted, ' +
    'against the same with a short one',
  limitS: 120,
  needsBaseline: false,
  async run(ctx) {
    const server = await ctx.startServer();
    const emoji = await promptOutcome(server, '😀'.repeat(512));
    const word = await promptOutcome(server, longWord(1024, 1));
    // The most a prompt may cost now: 1 KB in words of 256 bytes.
    const costliest = [1, 2, 3, 4].map((seed) => longWord(255, seed)).join(' ');
    const accepted = await promptOutcome(server, costliest);
    // Three streams at once are a load of their own: the victim beside short-prompt speakers is what the costly
    // prompt is compared with.
    const plain = await besideSpeakers(server, 'Kennedy', ctx.signal);
    const from = clock();
    const costly = await besideSpeakers(server, costliest, ctx.signal);
    const m = await measure(server, from, clock());
    const checks: Check[] = [
      emoji === 'prompt_too_long' ? held('512 emoji refused') : broke(`512 emoji: ${emoji}`),
      word === 'prompt_too_long' ? held('a 1,024-letter word refused') : broke(`a 1,024-letter word: ${word}`),
      accepted === 'accepted' ? held('four 255-letter words accepted') : degraded(`four 255-letter words: ${accepted}`),
      judgeVictim(costly, plain),
      await judgeAlive(server, m.data),
      judgeLag(m.lag),
    ];
    return outcome(
      checks,
      `512 emoji: ${emoji}; 1,024-letter word: ${word}; 4×255 letters: ${accepted}; beside speakers prompted ` +
        `"Kennedy": ${victimText(plain)}; with the costliest prompt: ${victimText(costly)}; ${lagText(m.lag)}`,
      { emoji, word, accepted, plain, costly, lag: m.lag },
    );
  },
};

export const limitsRows: Scenario[] = [
  flushes,
  hugeJson,
  stall,
  commits,
  neverReadingUpdates,
  neverReadingText,
  costlyPrompts,
];
