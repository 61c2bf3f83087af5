/**
 * Attack rows against one /stream connection: audio far faster than real time (4), floods of tiny frames (5), and
 * a client that never reads while sending huge junk messages (6). Rows 4 and 5 run the victim alongside.
 */
import { join } from 'node:path';
import WebSocket from 'ws';
import { fixturesDir, readWav16kMono } from '../../engine/index.js';
import { Opcode, RawWebSocket, clientFrame, type RawOpen } from './attack-clients.js';
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
import { judgeVictim, runVictim, victimText } from './attack-victim.js';

/** Close code the server uses for a client that broke a rate or size limit. */
const POLICY_CLOSE = 1008;
/** Most the bench lets pile up on its own side of a connection before it waits: the attack is paced, not the bench. */
const MAX_CLIENT_BUFFER = 1 << 20;

interface FastSender {
  sentAudioS: number;
  ackedAudioS: number;
  wallS: number;
  /** Audio the server took per second of wall time over the second half of the attack, × real time. */
  sustainedRate: number;
  maxBuffered: number;
  closeCode: number | null;
}

/**
 * Streams jfk.wav in a loop at `speed` × real time until `stop` aborts, holding back only when its own socket has a
 * megabyte unsent, and records how much audio the server took (acks), in frames of 250 ms.
 */
async function fastSender(url: string, speed: number, stop: AbortSignal): Promise<FastSender> {
  const pcm = readWav16kMono(join(fixturesDir, 'speech', 'jfk.wav'));
  const frame = 4000;
  const ws = new WebSocket(url);
  ws.on('error', () => undefined);
  const acks: { at: number; audioMs: number }[] = [];
  let closeCode: number | null = null;
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const message = JSON.parse(data.toString()) as { type?: unknown; audio_ms?: unknown };
    if (message.type === 'ack' && typeof message.audio_ms === 'number')
      acks.push({ at: clock(), audioMs: message.audio_ms });
  });
  ws.on('close', (code) => (closeCode = code));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const started = clock();
  let sentSamples = 0;
  /** Position in the schedule: ahead of what was sent once the sender had to hold back. */
  let scheduled = 0;
  let offset = 0;
  let maxBuffered = 0;
  while (!stop.aborted && ws.readyState === WebSocket.OPEN) {
    maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
    const due = ((clock() - started) / 1000) * speed * 16000;
    while (scheduled < due && ws.bufferedAmount < MAX_CLIENT_BUFFER) {
      if (offset + frame > pcm.length) offset = 0;
      const chunk = pcm.subarray(offset, offset + frame);
      ws.send(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      offset += frame;
      sentSamples += frame;
      scheduled += frame;
    }
    // A sender held back because the server stopped reading does not get to catch up later: it is paced.
    scheduled = Math.max(scheduled, due);
    await sleepUnlessAborted(10, stop);
  }
  const ended = clock();
  ws.terminate();
  const half = started + (ended - started) / 2;
  const mid = acks.filter((a) => a.at <= half).at(-1) ?? { at: started, audioMs: 0 };
  const last = acks.at(-1) ?? mid;
  const sustainedRate = last.at > mid.at ? (last.audioMs - mid.audioMs) / (ended - mid.at) : 0;
  return {
    sentAudioS: Math.round(sentSamples / 16000),
    ackedAudioS: Math.round(last.audioMs / 1000),
    wallS: Math.round((ended - started) / 100) / 10,
    sustainedRate: Math.round(sustainedRate * 10) / 10,
    maxBuffered,
    closeCode,
  };
}

const fastStream: Scenario = {
  row: 4,
  title: '/stream client sending audio at 20× real time beside a real-time victim',
  limitS: 60,
  needsBaseline: true,
  async run(ctx) {
    const server = await ctx.startServer();
    const stop = new AbortController();
    ctx.signal.addEventListener('abort', () => stop.abort(), { once: true });
    const from = clock();
    const victim = runVictim(server.ws('/stream'));
    await sleepUnlessAborted(300, ctx.signal);
    const sender = fastSender(server.ws('/stream'), 20, stop.signal);
    const v = await victim;
    stop.abort();
    const fast = await sender;
    const m = await measure(server, from, clock());
    // MAX_AUDIO_RATE is 1.5× sustained; twice that leaves room for acks lagging the reads.
    const pacing: Check =
      fast.closeCode === POLICY_CLOSE
        ? held(`fast sender closed with ${POLICY_CLOSE}`)
        : fast.sustainedRate <= 3
          ? held(`fast sender paced to ${fast.sustainedRate}× real time`)
          : degraded(`fast sender not paced: the server took ${fast.sustainedRate}× real time`);
    return outcome(
      [judgeVictim(v, ctx.baseline), pacing, await judgeAlive(server, m.data), judgeLag(m.lag)],
      `sender: ${fast.sentAudioS} s sent, ${fast.ackedAudioS} s acked in ${fast.wallS} s (${fast.sustainedRate}× ` +
        `sustained)${fast.closeCode ? `, closed ${fast.closeCode}` : ''}; ${victimText(v)}; ${lagText(m.lag)}`,
      { sender: fast, victim: v, lag: m.lag, rss: m.rss },
    );
  },
};

interface Flood {
  /** Frames written to the socket (the server may not have read them all). */
  frames: number;
  errors: number;
  closeCode: number | null;
  /** From the first frame to the server's close frame (or the socket closing). */
  closedAfterMs: number | null;
  framesPerS: number;
  /** Why the flood's connection could not be opened. */
  refused?: string;
}

/** Writes `frameBytes`-byte binary frames as fast as the connection takes them, for at most `durationMs`. */
async function flood(
  server: ServerUnderTest,
  frameBytes: number,
  durationMs: number,
  signal: AbortSignal,
): Promise<Flood> {
  const none = { frames: 0, errors: 0, closeCode: null, closedAfterMs: null, framesPerS: 0 };
  let open: RawOpen;
  try {
    open = await RawWebSocket.open(server.ws('/stream'));
  } catch (error) {
    return { ...none, refused: (error as Error).message };
  }
  if (!('ws' in open)) return { ...none, refused: `HTTP ${open.status}` };
  const ws = open.ws;
  const perBatch = 4096;
  const batch = Buffer.concat(
    Array.from({ length: perBatch }, () => clientFrame(Opcode.binary, new Uint8Array(frameBytes))),
  );
  const started = clock();
  let frames = 0;
  while (!ws.closed && !signal.aborted && clock() - started < durationMs) {
    if (ws.write(batch)) frames += perBatch;
    else {
      frames += perBatch;
      await ws.drained(100);
    }
    // Let the server's replies (and its close frame) in between batches.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const stoppedAt = clock();
  if (!ws.closed) await Promise.race([ws.socketClosed, sleepUnlessAborted(500, signal)]);
  ws.destroy();
  let errors = 0;
  for (const n of ws.codes.values()) errors += n;
  return {
    frames,
    errors,
    closeCode: ws.closeCode,
    closedAfterMs: ws.closedAt === null ? null : Math.round(ws.closedAt - started),
    framesPerS: Math.round(frames / ((Math.min(stoppedAt, ws.closedAt ?? stoppedAt) - started) / 1000)),
  };
}

function judgeFlood(name: string, f: Flood, durationMs: number): Check {
  if (f.refused !== undefined) return broke(`${name}: could not connect (${f.refused})`);
  const what = `${name}: ${f.frames} frames (${f.framesPerS}/s), ${f.errors} error replies`;
  if (f.closeCode === POLICY_CLOSE && f.closedAfterMs !== null && f.closedAfterMs <= 2000)
    return held(`${what}, closed ${POLICY_CLOSE} after ${f.closedAfterMs} ms`);
  if (f.closeCode === POLICY_CLOSE) return degraded(`${what}, closed ${POLICY_CLOSE} only after ${f.closedAfterMs} ms`);
  if (f.closedAfterMs !== null)
    return degraded(`${what}, closed with ${f.closeCode ?? 'no close frame'} rather than ${POLICY_CLOSE}`);
  return broke(`${what}, still open after ${durationMs / 1000} s`);
}

const floodText = (f: Flood): string =>
  f.refused !== undefined
    ? `no connection (${f.refused})`
    : `${f.frames} frames, ${f.errors} errors, ` +
      `${f.closeCode === null ? 'not closed' : `closed ${f.closeCode} at ${f.closedAfterMs} ms`}`;

const tinyFrames: Scenario = {
  row: 5,
  title: 'floods of 1-byte and 2-byte binary frames on one connection',
  limitS: 60,
  needsBaseline: true,
  async run(ctx) {
    const server = await ctx.startServer();
    const durationMs = ctx.quick ? 2000 : 4000;
    const from = clock();
    const victim = runVictim(server.ws('/stream'));
    await sleepUnlessAborted(1000, ctx.signal);
    // 1 byte: every frame is an odd_frame_length error; 2 bytes: one valid sample per frame.
    const odd = await flood(server, 1, durationMs, ctx.signal);
    const tiny = await flood(server, 2, durationMs, ctx.signal);
    const v = await victim;
    const m = await measure(server, from, clock());
    return outcome(
      [
        judgeFlood('1-byte flood', odd, durationMs),
        judgeFlood('2-byte flood', tiny, durationMs),
        judgeVictim(v, ctx.baseline),
        await judgeAlive(server, m.data),
        judgeLag(m.lag),
      ],
      `1-byte: ${floodText(odd)}; 2-byte: ${floodText(tiny)}; ${lagText(m.lag)}; ${victimText(v)}`,
      { oneByte: odd, twoByte: tiny, victim: v, lag: m.lag, rss: m.rss },
    );
  },
};

const JUNK_BYTES = 900 * 1024;
/** The longest error reply that still counts as a short excerpt of what the client sent. */
const SHORT_REPLY_BYTES = 2048;

/** A text message of ~900 KB that the server refuses: a "language" no model has. */
function junkMessage(): Buffer {
  return clientFrame(Opcode.text, Buffer.from(`{"language":"${'x'.repeat(JUNK_BYTES)}"}`));
}

/** The size of the server's error reply to one junk message, on a connection that reads. */
async function echoSize(server: ServerUnderTest, signal: AbortSignal): Promise<number | null> {
  const open = await RawWebSocket.open(server.ws('/stream'));
  if (!('ws' in open)) return null;
  const ws = open.ws;
  ws.write(junkMessage());
  const deadline = clock() + 5000;
  while (ws.codes.size === 0 && !ws.closed && !signal.aborted && clock() < deadline)
    await sleepUnlessAborted(20, signal);
  ws.destroy();
  return ws.codes.size === 0 ? null : ws.largestText;
}

const neverReads: Scenario = {
  row: 6,
  title: 'client that never reads, sending ~900 KB junk text messages',
  limitS: 60,
  needsBaseline: false,
  async run(ctx) {
    const server = await ctx.startServer();
    const reply = await echoSize(server, ctx.signal);
    const open = await RawWebSocket.open(server.ws('/stream'));
    if (!('ws' in open)) return outcome([broke(`never-reading client refused (${open.status})`)], '', {});
    const ws = open.ws;
    ws.pauseReading();
    const limit = ctx.quick ? 100 : 300;
    const junk = junkMessage();
    const from = clock();
    let sent = 0;
    let stalled = false;
    while (sent < limit && !ctx.signal.aborted && !ws.socket.destroyed && clock() - from < 15_000) {
      sent++;
      if (!ws.write(junk) && !(await ws.drained(2000))) {
        stalled = !ws.socket.destroyed;
        break;
      }
    }
    const stoppedAt = clock();
    // Whatever the server wrote before closing is now read: its close frame, if it sent one, is at the end.
    ws.resumeReading();
    await Promise.race([ws.socketClosed, sleepUnlessAborted(1000, ctx.signal)]);
    const closedByServer = ws.socket.destroyed || ws.closeCode !== null;
    ws.destroy();
    await sleepUnlessAborted(500, ctx.signal);
    const m = await measure(server, from, clock());
    const echo: Check =
      reply === null
        ? broke('no error reply to a junk message')
        : reply <= SHORT_REPLY_BYTES
          ? held(`error reply ${reply} bytes`)
          : reply <= 16 * 1024
            ? degraded(`error reply ${reply} bytes`)
            : broke(`error reply echoes the input (${Math.round(reply / 1024)} KB)`);
    const fate = closedByServer
      ? `closed by the server${ws.closeCode !== null ? ` (${ws.closeCode})` : ''} after ${sent} messages`
      : stalled
        ? `server stopped reading after ${sent} messages`
        : `server took all ${sent} messages (${Math.round((sent * JUNK_BYTES) / 2 ** 20)} MB) in ` +
          `${Math.round((stoppedAt - from) / 100) / 10} s`;
    return outcome(
      [echo, judgeGrowth(m.rss, 64, 150), await judgeAlive(server, m.data), judgeLag(m.lag)],
      `error reply ${reply ?? '–'} B; never-reader ${fate}; ${rssText(m.rss)}; ${lagText(m.lag)}`,
      { replyBytes: reply, sent, closedByServer, closeCode: ws.closeCode, stalled, rss: m.rss, lag: m.lag },
    );
  },
};

export const streamRows: Scenario[] = [fastStream, tinyFrames, neverReads];
