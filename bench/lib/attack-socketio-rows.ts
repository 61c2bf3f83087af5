/**
 * Attack rows of issue 24's adversarial pass against Socket.IO (/speech) and the odd ends: audio at 8 kHz (101),
 * namespace connects by the thousand on one connection (102), bare long-polling handshakes (103), SIGTERM with a
 * websocket client that stops reading (104), long-polling audio far faster than real time (114), and source maps,
 * JWT secrets of emoji and repeated query parameters (119).
 */
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { fixturesDir, readWav16kMono } from '../../engine/index.js';
import { Opcode, RawWebSocket, clientFrame, tryUpgrade } from './attack-clients.js';
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
  statusCounts,
  type Check,
  type Scenario,
} from './attack-scenario.js';
import { judgeVictim, runVictim, victimText } from './attack-victim.js';
import { warmUp } from './attack-warmup.js';
import { TcpRelay } from './tcp-relay.js';

const jfk = (): Int16Array => readWav16kMono(join(fixturesDir, 'speech', 'jfk.wav'));

interface SpeechEvent {
  name: string;
  payload: Record<string, unknown>;
}

/** A socket.io-client on /speech recording what the server emits; null when it could not connect. */
async function speechClient(
  url: string,
  transports: ('websocket' | 'polling')[],
): Promise<{ socket: Socket; events: SpeechEvent[]; disconnected: Promise<string> } | null> {
  const socket = io(`${url}/speech`, { transports, reconnection: false, forceNew: true });
  const events: SpeechEvent[] = [];
  socket.onAny((name: string, payload: Record<string, unknown>) => events.push({ name, payload }));
  const disconnected = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
  const connected = await new Promise<boolean>((resolve) => {
    socket.once('connect', () => resolve(true));
    socket.once('connect_error', () => resolve(false));
  });
  if (connected) return { socket, events, disconnected };
  socket.close();
  return null;
}

/**
 * Streams jfk.wav at 8 kHz as {audio, sampleRate} in `chunkMs` chunks at twice real time; the finals' texts and errors.
 */
async function narrowRun(
  url: string,
  chunkMs: number,
  signal: AbortSignal,
): Promise<{ finals: string[]; errors: string[] }> {
  const client = await speechClient(url, ['websocket']);
  if (!client) return { finals: [], errors: ['could not connect'] };
  await client.socket
    .timeout(10_000)
    .emitWithAck('start-transcription')
    .catch(() => null);
  const pcm = jfk();
  const narrow = new Int16Array(Math.floor(pcm.length / 2)).map((_, i) => pcm[2 * i] as number);
  const chunk = 8 * chunkMs;
  const started = performance.now();
  for (let at = 0, i = 0; at < narrow.length && !signal.aborted; at += chunk, i++) {
    await sleepUnlessAborted(Math.max(0, started + (i * chunkMs) / 2 - performance.now()), signal);
    client.socket.emit('audio-chunk', { audio: Buffer.from(narrow.slice(at, at + chunk).buffer), sampleRate: 8000 });
  }
  await client.socket
    .timeout(60_000)
    .emitWithAck('stop-transcription')
    .catch(() => null);
  client.socket.close();
  return {
    finals: client.events.filter((e) => e.name === 'transcription-final').map((e) => String(e.payload['text'])),
    errors: client.events.filter((e) => e.name === 'transcription-error').map((e) => String(e.payload['code'])),
  };
}

const narrowAudio: Scenario = {
  row: 101,
  title: 'Socket.IO client sending {audio, sampleRate: 8000} in 20 ms and 100 ms chunks',
  limitS: 90,
  needsBaseline: false,
  async run(ctx) {
    // Greedy finals on one worker are exactly repeatable, so the two chunkings must give the same finals.
    const server = await ctx.startServer({ FINAL_BEAM_SIZE: '1', POOL_SIZE: '1' });
    const small = await narrowRun(server.http, 20, ctx.signal);
    const large = await narrowRun(server.http, 100, ctx.signal);
    const checks: Check[] = [small, large].map((run, i) =>
      run.errors.length === 0
        ? held(`${[20, 100][i]} ms chunks: none refused`)
        : broke(`${[20, 100][i]} ms chunks: ${run.errors.length} refused (${run.errors[0]})`),
    );
    const same = small.finals.length > 0 && JSON.stringify(small.finals) === JSON.stringify(large.finals);
    checks.push(
      same
        ? held(`the same ${small.finals.length} finals from either chunking`)
        : broke(`finals differ: ${small.finals.length} from 20 ms chunks, ${large.finals.length} from 100 ms`),
    );
    return outcome(
      checks,
      `20 ms: ${small.finals.length} finals, ${small.errors.length} errors; 100 ms: ${large.finals.length} ` +
        `finals, ${large.errors.length} errors`,
      { small, large },
    );
  },
};

/** The server's count of bound connections (/stats), or NaN when it does not answer. */
async function boundConnections(server: ServerUnderTest): Promise<number> {
  try {
    const response = await fetch(`${server.http}/stats`, { signal: AbortSignal.timeout(2000) });
    return ((await response.json()) as { connections?: number }).connections ?? Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Polls /stats until `stop`; the most bound connections seen. */
async function peakConnections(server: ServerUnderTest, stop: AbortSignal): Promise<number> {
  let peak = 0;
  while (!stop.aborted) {
    const n = await boundConnections(server);
    if (Number.isFinite(n)) peak = Math.max(peak, n);
    await sleepUnlessAborted(100, stop);
  }
  return peak;
}

const ATTACK_MS = 10_000;

const namespaceFlood: Scenario = {
  row: 102,
  title: '3,000 /speech namespace connects in one TCP write, again and again on new connections',
  limitS: 90,
  needsBaseline: true,
  async run(ctx) {
    const server = await ctx.startServer();
    const stop = new AbortController();
    ctx.signal.addEventListener('abort', () => stop.abort(), { once: true });
    await warmUp(server);
    const burst = Buffer.concat(
      Array.from({ length: 3000 }, () => clientFrame(Opcode.text, Buffer.from('40/speech,'))),
    );
    const from = clock();
    const peak = peakConnections(server, stop.signal);
    const victim = runVictim(server.ws('/stream'));
    let connections = 0;
    let closedByServer = 0;
    const deadline = clock() + ATTACK_MS;
    while (clock() < deadline && !stop.signal.aborted) {
      const opened = await RawWebSocket.open(server.ws('/socket.io/', { EIO: '4', transport: 'websocket' })).catch(
        () => null,
      );
      if (!opened || !('ws' in opened)) continue;
      connections++;
      const ws = opened.ws;
      ws.write(burst);
      await Promise.race([ws.socketClosed, sleepUnlessAborted(1000, stop.signal)]);
      if (ws.closed) closedByServer++;
      ws.destroy();
    }
    const v = await victim;
    stop.abort();
    const most = await peak;
    const m = await measure(server, from, clock());
    const sockets: Check =
      most <= 2
        ? held(`at most ${most} bound socket(s) at a time`)
        : most <= 50
          ? degraded(`${most} bound sockets at once`)
          : broke(`${most} bound sockets at once`);
    return outcome(
      [
        sockets,
        judgeVictim(v, ctx.baseline),
        judgeGrowth(m.rss, 64, 150),
        await judgeAlive(server, m.data),
        judgeLag(m.lag),
      ],
      `${connections} connections × 3,000 connects, ${closedByServer} closed by the server; peak ${most} bound; ` +
        `${rssText(m.rss)}; ${victimText(v)}; ${lagText(m.lag)}`,
      { connections, closedByServer, peak: most, victim: v, rss: m.rss, lag: m.lag },
    );
  },
};

const handshakes: Scenario = {
  row: 103,
  title: 'bare long-polling handshakes (no namespace, no credential) from 64 keep-alive loops',
  limitS: 90,
  needsBaseline: true,
  async run(ctx) {
    const server = await ctx.startServer();
    const stop = new AbortController();
    ctx.signal.addEventListener('abort', () => stop.abort(), { once: true });
    await warmUp(server);
    const from = clock();
    const victim = runVictim(server.ws('/stream'));
    const deadline = clock() + ATTACK_MS;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (clock() < deadline && !stop.signal.aborted) {
          try {
            const response = await fetch(`${server.http}/socket.io/?EIO=4&transport=polling`, {
              signal: AbortSignal.timeout(5000),
            });
            await response.arrayBuffer();
            statuses.push(response.status);
          } catch {
            statuses.push(0);
          }
        }
      }),
    );
    const v = await victim;
    const m = await measure(server, from, clock());
    const accepted = statuses.filter((s) => s === 200).length;
    return outcome(
      [judgeVictim(v, ctx.baseline), judgeGrowth(m.rss, 64, 150), await judgeAlive(server, m.data), judgeLag(m.lag)],
      `${statuses.length} handshakes: ${statusCounts(statuses)} (${accepted} accepted); ${rssText(m.rss)}; ` +
        `${victimText(v)}; ${lagText(m.lag)}`,
      { statuses: statusCounts(statuses), victim: v, rss: m.rss, lag: m.lag },
    );
  },
};

const SHUTDOWN_TIMEOUT_MS = 3000;
const SHUTDOWN_MARGIN_MS = 1500;
const SHUTDOWN_WAIT_MS = 12_000;

const socketIoShutdown: Scenario = {
  row: 104,
  title: 'SIGTERM while a Socket.IO websocket client stops reading',
  limitS: 60,
  needsBaseline: false,
  async run(ctx) {
    const server = await ctx.startServer({ SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
    const relay = await TcpRelay.start(server.port);
    ctx.onCleanup(() => relay.close());
    const client = await speechClient(`http://127.0.0.1:${relay.port}`, ['websocket']);
    if (!client) return outcome([broke('could not be checked: the client could not connect')], '', {});
    ctx.onCleanup(() => void client.socket.close());
    await client.socket
      .timeout(10_000)
      .emitWithAck('start-transcription')
      .catch(() => null);
    const pcm = jfk().subarray(0, 3 * 16000);
    for (let at = 0; at < pcm.length; at += 1600)
      client.socket.emit('audio-chunk', Buffer.from(pcm.slice(at, at + 1600).buffer));
    await sleepUnlessAborted(1000, ctx.signal);
    relay.holdResponses();
    const sentAt = clock();
    server.signal('SIGTERM');
    const exit = await Promise.race([server.exited, sleepUnlessAborted(SHUTDOWN_WAIT_MS, ctx.signal).then(() => null)]);
    if (!exit)
      return outcome(
        [broke(`still running ${SHUTDOWN_WAIT_MS / 1000} s after SIGTERM (killed)`)],
        `SHUTDOWN_TIMEOUT_MS=${SHUTDOWN_TIMEOUT_MS}: no exit within ${SHUTDOWN_WAIT_MS} ms`,
        {},
      );
    const ms = Math.round(exit.at - sentAt);
    const check: Check =
      ms <= SHUTDOWN_TIMEOUT_MS + SHUTDOWN_MARGIN_MS
        ? held(`exited ${ms} ms after SIGTERM`)
        : degraded(`exited ${ms} ms after SIGTERM, past SHUTDOWN_TIMEOUT_MS`);
    return outcome(
      [check],
      `SHUTDOWN_TIMEOUT_MS=${SHUTDOWN_TIMEOUT_MS}: exited ${ms} ms after SIGTERM ` +
        `(${exit.signal ?? `exit ${exit.code}`})`,
      { exitMs: ms },
    );
  },
};

const pollingFlood: Scenario = {
  row: 114,
  title: 'Socket.IO long-polling client emitting 1 s chunks about 150 times a second',
  limitS: 90,
  needsBaseline: true,
  async run(ctx) {
    const server = await ctx.startServer();
    const stop = new AbortController();
    ctx.signal.addEventListener('abort', () => stop.abort(), { once: true });
    await warmUp(server);
    const from = clock();
    const victim = runVictim(server.ws('/stream'));
    const client = await speechClient(server.http, ['polling']);
    if (!client) return outcome([broke('could not be checked: the client could not connect')], '', {});
    ctx.onCleanup(() => void client.socket.close());
    await client.socket
      .timeout(10_000)
      .emitWithAck('start-transcription')
      .catch(() => null);
    const second = Buffer.from(jfk().slice(0, 16000).buffer);
    const started = clock();
    let sent = 0;
    let disconnectedAt: number | null = null;
    void client.disconnected.then(() => (disconnectedAt = clock()));
    while (disconnectedAt === null && clock() - started < 15_000 && !stop.signal.aborted) {
      client.socket.emit('audio-chunk', second);
      sent++;
      await sleepUnlessAborted(1000 / 150, stop.signal);
    }
    client.socket.close();
    const v = await victim;
    const m = await measure(server, from, clock());
    const limited = client.events.find((e) => e.name === 'transcription-error' && e.payload['code'] === 'rate_limited');
    const ms = disconnectedAt === null ? null : Math.round(disconnectedAt - started);
    const bounded: Check =
      limited && ms !== null
        ? held(`closed with rate_limited after ${ms} ms (${sent} s of audio emitted)`)
        : degraded(`not closed: ${sent} s of audio emitted in ${Math.round((clock() - started) / 1000)} s`);
    return outcome(
      [
        bounded,
        judgeVictim(v, ctx.baseline),
        judgeGrowth(m.rss, 64, 150),
        await judgeAlive(server, m.data),
        judgeLag(m.lag),
      ],
      `${sent} chunks of 1 s emitted; ` +
        `${ms === null ? 'not closed' : `rate_limited, disconnected after ${ms} ms`}; ${rssText(m.rss)}; ` +
        `${victimText(v)}; ${lagText(m.lag)}`,
      { sent, disconnectedMs: ms, victim: v, rss: m.rss, lag: m.lag },
    );
  },
};

const oddEnds: Scenario = {
  row: 119,
  title: 'source maps, JWT_SECRET of 8 emoji (32 bytes), a repeated Deepgram sample_rate',
  limitS: 60,
  needsBaseline: false,
  async run(ctx) {
    const server = await ctx.startServer();
    const map = await fetch(`${server.http}/engine/audio/wav.js.map`);
    await map.arrayBuffer();
    const upgradeStatus = await tryUpgrade(
      server.ws('/v1/listen', { encoding: 'linear16', sample_rate: '48000' }).concat('&sample_rate=16000'),
    );
    const emoji = await ctx.launch({ JWT_SECRET: '🔑'.repeat(8) });
    const emojiText = 'ready' in emoji ? 'started' : `exit ${emoji.failed.code}`;
    const checks: Check[] = [
      map.status === 404 ? held('no source map served') : broke(`source map served (${map.status})`),
      upgradeStatus === 400
        ? held('repeated sample_rate refused with 400')
        : broke(`repeated sample_rate: ${upgradeStatus}`),
      'ready' in emoji
        ? broke('started with a JWT_SECRET of 8 emoji')
        : held(`JWT_SECRET of 8 emoji refused at start-up (${emojiText})`),
    ];
    return outcome(
      checks,
      `/engine/audio/wav.js.map → ${map.status}; sample_rate twice → ${upgradeStatus}; JWT_SECRET=8 emoji → ` +
        `${emojiText}`,
      {},
    );
  },
};

export const socketIoRows: Scenario[] = [
  narrowAudio,
  namespaceFlood,
  handshakes,
  socketIoShutdown,
  pollingFlood,
  oddEnds,
];
