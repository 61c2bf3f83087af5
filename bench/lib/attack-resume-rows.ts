/**
 * A conforming client after a resume (issue 24, item 1 and row 8): the project's own client, capturing 10 ms and 20 ms
 * frames, loses its network one way for 5 s of audio (it goes on sending, the server hears nothing), then the
 * connection drops; on reconnecting it resends its whole unacknowledged backlog at once. Row 120 resumes on the same
 * instance, row 108 on another one sharing a real redis-server after the first was killed.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamClient, type Transcript } from '../../client/index.js';
import { fixturesDir, readWav16kMono, VadModel, type VadSegment } from '../../engine/index.js';
import { join } from 'node:path';
import { LOOPBACK, freePort } from './attack-server.js';
import { broke, degraded, held, outcome, type Check, type Scenario } from './attack-scenario.js';
import { TcpRelay } from './tcp-relay.js';

/** MAX_AUDIO_RATE: the client captures faster than real time only to keep the row short. */
const SPEED = 1.5;
const PIECE = 1600;
/** jfk.wav speaks from 3.27 to 4.41 s and from 8.16 to 10.62 s: the network fails one way after the first final, */
const HOLD_AT = 16000 * 5;
/** and drops inside the second utterance, 5.2 s of audio later. */
const CUT_AT = 16000 * 10.2;
const FRAMES_MS = [10, 20] as const;
/** Where a final may start or end around Silero's speech regions and still cover them. */
const SLACK_MS = 200;

interface Run {
  finals: { text: string; startMs: number; endMs: number; segment: number }[];
  resumed: boolean[];
  errors: string[];
  closeCode: number | null;
}

const jfk = (): Int16Array => readWav16kMono(join(fixturesDir, 'speech', 'jfk.wav'));

/** Plays jfk.wav through the client library at SPEED; `at` acts on the network at sample offsets. */
async function play(urls: string[], frameMs: number, at: Map<number, () => void>, signal: AbortSignal): Promise<Run> {
  const pcm = jfk();
  const client = new StreamClient(urls, { frameMs, reconnectDelayMs: 50 });
  const transcripts: Transcript[] = [];
  client.on('final', (m) => transcripts.push(m));
  const resumed: boolean[] = [];
  client.on('session', (s) => resumed.push(s.resumed));
  const errors: string[] = [];
  client.on('error', (e) => errors.push(`${e.code}: ${e.message}`));
  try {
    await client.connect();
  } catch (error) {
    return { finals: [], resumed, errors: [`connect: ${(error as Error).message}`], closeCode: null };
  }
  const started = performance.now();
  for (let offset = 0, i = 0; offset < pcm.length && !signal.aborted; offset += PIECE, i++) {
    for (const [sample, action] of at) {
      if (offset < sample) continue;
      action();
      at.delete(sample);
    }
    client.send(pcm.subarray(offset, offset + PIECE));
    const wait = started + ((i + 1) * 100) / SPEED - performance.now();
    if (wait > 0) await sleep(wait);
  }
  const closed = await Promise.race([client.end(), sleep(60_000).then(() => null)]);
  if (!closed) client.close();
  return {
    finals: transcripts.map((m) => ({ text: m.text, startMs: m.start_ms, endMs: m.end_ms, segment: m.segment_id })),
    resumed,
    errors,
    closeCode: closed?.code ?? null,
  };
}

/**
 * What went wrong with a resumed run, or null: ended normally, resumed once, nothing refused, each segment final once.
 */
function faults(run: Run): string | null {
  if (run.errors.length > 0) return `errors: ${run.errors.slice(0, 2).join('; ')}`;
  if (run.closeCode !== 1000) return `closed with ${run.closeCode ?? 'nothing (timed out)'}`;
  if (run.resumed.join() !== 'false,true') return `sessions ${JSON.stringify(run.resumed)} instead of one resumed once`;
  const segments = run.finals.map((f) => f.segment);
  if (new Set(segments).size !== segments.length) return 'a segment got two finals';
  return null;
}

/** Speech regions no final covers. */
function uncovered(run: Run, regions: VadSegment[]): VadSegment[] {
  return regions.filter(
    (r) => !run.finals.some((f) => f.startMs - SLACK_MS <= r.startMs && r.endMs <= f.endMs + SLACK_MS),
  );
}

const runText = (frameMs: number, run: Run): string =>
  `${frameMs} ms frames: ${run.closeCode === null ? 'no close' : `closed ${run.closeCode}`}, sessions ` +
  `${run.resumed.map((r) => (r ? 'resumed' : 'new')).join('+') || 'none'}, ${run.finals.length} ` +
  `finals${run.errors.length > 0 ? `, ${run.errors[0]}` : ''}`;

const sameInstance: Scenario = {
  row: 120,
  title: 'resume on the same instance, resending a 5 s backlog at once in 10 ms and 20 ms frames',
  limitS: 150,
  needsBaseline: false,
  async run(ctx) {
    // Greedy finals on one worker are exactly repeatable: the resumed run must give the uninterrupted run's finals.
    const server = await ctx.startServer({ FINAL_BEAM_SIZE: '1', POOL_SIZE: '1' });
    const checks: Check[] = [];
    const texts: string[] = [];
    for (const frameMs of FRAMES_MS) {
      const reference = await play([server.ws('/stream')], frameMs, new Map(), ctx.signal);
      const relay = await TcpRelay.start(server.port);
      ctx.onCleanup(() => relay.close());
      const url = `ws://${LOOPBACK}:${relay.port}/stream`;
      const run = await play(
        [url],
        frameMs,
        new Map([
          [HOLD_AT, () => relay.holdRequests()],
          [CUT_AT, () => relay.cut()],
        ]),
        ctx.signal,
      );
      texts.push(runText(frameMs, run));
      const fault = faults(run);
      const same =
        JSON.stringify(run.finals.map((f) => f.text)) === JSON.stringify(reference.finals.map((f) => f.text));
      if (fault) checks.push(broke(`${frameMs} ms frames: ${fault}`));
      else if (!same) checks.push(degraded(`${frameMs} ms frames: finals differ from the uninterrupted run's`));
      else
        checks.push(
          held(`${frameMs} ms frames: backlog taken, the same ${run.finals.length} finals as without the drop`),
        );
    }
    return outcome(checks, texts.join('; '), { runs: texts });
  },
};

/** A redis-server without persistence on a free port, for the instances to share; stopped when the row ends. */
async function startRedis(onCleanup: (cleanup: () => void) => void): Promise<string> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', LOOPBACK, '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  onCleanup(() => void child.kill('SIGKILL'));
  const lines = createInterface({ input: child.stdout });
  const ready = new Promise<void>((resolve) =>
    lines.on('line', (line) => line.includes('Ready to accept connections') && resolve()),
  );
  const failed = Promise.race([once(child, 'error'), once(child, 'exit')]).then(() => {
    throw new Error('redis-server did not start (is it installed?)');
  });
  await Promise.race([ready, failed]);
  return `redis://${LOOPBACK}:${port}/0`;
}

const otherInstance: Scenario = {
  row: 108,
  title:
    'resume on another instance (Redis) after the holder is killed, resending a 5 s backlog at once in 10 ms and ' +
    '20 ms frames',
  limitS: 180,
  needsBaseline: false,
  async run(ctx) {
    const store = await startRedis(ctx.onCleanup);
    const taker = await ctx.startServer({ SESSION_STORE: store });
    const vad = new VadModel();
    const regions = await vad.segments(jfk()).finally(() => vad.free());
    const checks: Check[] = [];
    const texts: string[] = [];
    for (const frameMs of FRAMES_MS) {
      const holder = await ctx.startServer({ SESSION_STORE: store });
      const relay = await TcpRelay.start(holder.port);
      ctx.onCleanup(() => relay.close());
      const kill = (): void => {
        holder.signal('SIGKILL');
        relay.cut();
      };
      const urls = [`ws://${LOOPBACK}:${relay.port}/stream`, taker.ws('/stream')];
      const run = await play(
        urls,
        frameMs,
        new Map([
          [HOLD_AT, () => relay.holdRequests()],
          [CUT_AT, kill],
        ]),
        ctx.signal,
      );
      texts.push(runText(frameMs, run));
      const fault = faults(run);
      const missing = uncovered(run, regions);
      if (fault) checks.push(broke(`${frameMs} ms frames: ${fault}`));
      else if (missing.length > 0)
        checks.push(
          broke(
            `${frameMs} ms frames: speech at ${missing.map((r) => `${r.startMs}-${r.endMs} ms`).join(', ')} has ` +
              'no final',
          ),
        );
      else
        checks.push(
          held(`${frameMs} ms frames: backlog taken on the other instance, every speech region in exactly one final`),
        );
    }
    return outcome(checks, texts.join('; '), { runs: texts });
  },
};

export const resumeRows: Scenario[] = [otherInstance, sameInstance];
