/**
 * Attack rows against resumable sessions: slots taken by abrupt drops (7), resumes claiming transcripts that do
 * not exist yet (8), memory held by many detached sessions after they expire (9), another client's drops from many
 * addresses evicting a victim's detached session (40), and failed resumes, each of which started a new session (41).
 */
import { join } from 'node:path';
import { fixturesDir, readWav16kMono } from '../../engine/index.js';
import { hashApiKey } from '../../server/auth/authenticator.js';
import { Opcode, RawWebSocket, clientFrame } from './attack-clients.js';
import { clock, rssIn } from './attack-monitor.js';
import { LOOPBACK, OTHER_LOOPBACK, type ServerUnderTest } from './attack-server.js';
import {
  broke,
  degraded,
  held,
  judgeAlive,
  outcome,
  sleepUnlessAborted,
  statusCounts,
  type Check,
  type Scenario,
} from './attack-scenario.js';
import { StreamClient } from './raw-stream-client.js';

const jfk = (): Int16Array => readWav16kMono(join(fixturesDir, 'speech', 'jfk.wav'));

/** 20 ms of speech as a binary frame's payload. */
function speechFrame(): Uint8Array {
  const samples = jfk().subarray(16000, 16000 + 320);
  return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
}

async function stats(server: ServerUnderTest): Promise<{ active: number; attached: number; detached: number } | null> {
  try {
    const response = await fetch(`${server.http}/stats`, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json()) as { sessions?: { active: number; attached: number; detached: number } };
    return body.sessions ?? null;
  } catch {
    return null;
  }
}

/** Resolves with what came first: the value, or `fallback` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** Connects a /stream client; 'session' once the server announced its session, else why not. */
async function startSession(
  url: string,
  options: { headers?: Record<string, string>; localAddress: string },
): Promise<{ client: StreamClient | null; outcome: string }> {
  let client: StreamClient;
  try {
    client = await StreamClient.connect(url, {
      localAddress: options.localAddress,
      ...(options.headers ? { headers: options.headers } : {}),
    });
  } catch (error) {
    const status = /Unexpected server response: (\d+)/.exec((error as Error).message)?.[1];
    return { client: null, outcome: status ? `HTTP ${status}` : (error as Error).message };
  }
  client.ws.on('error', () => undefined);
  const first = await within(
    client.waitFor((m) => m['type'] === 'session' || m['type'] === 'error').catch(() => null),
    3000,
    null,
  );
  if (first?.['type'] === 'session') return { client, outcome: 'session' };
  return { client, outcome: first ? `error ${String(first['code'])}` : 'no session message' };
}

interface SlotRun {
  attackerSessions: number;
  afterDrops: { active: number; attached: number; detached: number } | null;
  victim: string;
}

/** Five sessions from one principal/address dropped without a close frame, then a client from elsewhere. */
async function dropThenJoin(
  server: ServerUnderTest,
  attacker: Record<string, string> | undefined,
  victim: Record<string, string> | undefined,
): Promise<SlotRun> {
  let attackerSessions = 0;
  for (let i = 0; i < 5; i++) {
    const { client, outcome } = await startSession(server.ws('/stream'), {
      localAddress: LOOPBACK,
      ...(attacker ? { headers: attacker } : {}),
    });
    if (outcome === 'session') attackerSessions++;
    client?.sendBytes(speechFrame());
    client?.drop();
  }
  // The server learns of each drop from the TCP close; give it a moment to detach them.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const afterDrops = await stats(server);
  const joined = await startSession(server.ws('/stream'), {
    localAddress: OTHER_LOOPBACK,
    ...(victim ? { headers: victim } : {}),
  });
  joined.client?.ws.terminate();
  return { attackerSessions, afterDrops, victim: joined.outcome };
}

const slotText = (r: SlotRun): string =>
  `${r.attackerSessions} dropped` +
  `${r.afterDrops ? ` (attached ${r.afterDrops.attached}, detached ${r.afterDrops.detached})` : ''}` +
  ` → new client: ${r.victim}`;

const sessionSlots: Scenario = {
  row: 7,
  title: 'MAX_SESSIONS=5 taken by five abrupt drops (no close frame)',
  limitS: 60,
  needsBaseline: false,
  async run(ctx) {
    // Without authentication everyone is the same principal: only the address tells attacker and victim apart.
    const open = await ctx.startServer({ MAX_SESSIONS: '5' });
    const anonymous = await dropThenJoin(open, undefined, undefined);
    const keys = { attacker: 'attack-bench-key-attacker', victim: 'attack-bench-key-victim' };
    const authed = await ctx.startServer({
      MAX_SESSIONS: '5',
      API_KEY_HASHES: `${hashApiKey(keys.attacker)},${hashApiKey(keys.victim)}`,
    });
    const keyed = await dropThenJoin(
      authed,
      { authorization: `Bearer ${keys.attacker}` },
      { authorization: `Bearer ${keys.victim}` },
    );
    const judge = (name: string, r: SlotRun): Check =>
      r.attackerSessions < 5
        ? broke(`${name}: only ${r.attackerSessions} of 5 attacker sessions started, not checked`)
        : r.victim === 'session'
          ? held(`${name}: a new client got a session after 5 drops`)
          : broke(`${name}: a new client was locked out after 5 drops (${r.victim})`);
    return outcome(
      [judge('no auth, other address', anonymous), judge('API keys, other key and address', keyed)],
      `no auth: ${slotText(anonymous)}; API keys: ${slotText(keyed)}`,
      { anonymous, keyed },
    );
  },
};

type ResumeAnswer = 'resumed' | 'resume_failed' | `HTTP ${string}` | string;

interface Resumable {
  sessionId: string;
  resumeToken: string;
  lastSeq: number;
}

/** How the server answers a resume: 'resumed', 'resume_failed', an HTTP refusal, or what else happened. */
async function resume(
  server: ServerUnderTest,
  session: Resumable,
  lastSeq: number,
  via: 'query' | 'message',
  localAddress = LOOPBACK,
): Promise<{ answer: ResumeAnswer; client: StreamClient | null }> {
  const query = { session_id: session.sessionId, resume_token: session.resumeToken, last_seq: String(lastSeq) };
  let client: StreamClient;
  try {
    client = await StreamClient.connect(server.ws('/stream', via === 'query' ? query : {}), { localAddress });
  } catch (error) {
    const status = /Unexpected server response: (\d+)/.exec((error as Error).message)?.[1];
    return { answer: status ? `HTTP ${status}` : (error as Error).message, client: null };
  }
  client.ws.on('error', () => undefined);
  if (via === 'message')
    client.sendJson({
      type: 'resume',
      session_id: session.sessionId,
      resume_token: session.resumeToken,
      last_seq: lastSeq,
    });
  const first = await within(
    client
      .waitFor((m) => m['type'] === 'resumed' || (m['type'] === 'error' && m['code'] === 'resume_failed'))
      .catch(() => null),
    3000,
    null,
  );
  return { answer: first ? (first['type'] === 'resumed' ? 'resumed' : 'resume_failed') : 'no answer', client };
}

/**
 * After an accepted resume: streams 3 s of speech at 2×, flushes, and counts the transcripts that reach the client
 * within 10 s (the flush makes a final due at once; a beam-search final can take seconds on 2 busy cores).
 */
async function transcriptsAfter(client: StreamClient, signal: AbortSignal): Promise<number> {
  const before = client.transcripts().length;
  await client.stream(jfk().subarray(0, 3 * 16000), { speed: 2, frameMs: 20 });
  client.sendJson({ type: 'flush' });
  const deadline = clock() + 10_000;
  while (client.transcripts().length === before && clock() < deadline && !signal.aborted)
    await sleepUnlessAborted(50, signal);
  return client.transcripts().length - before;
}

const futureSeq: Scenario = {
  row: 8,
  title: 'resume with last_seq above the session’s seq (1e6, 2^53-1)',
  limitS: 90,
  needsBaseline: false,
  async run(ctx) {
    const server = await ctx.startServer();
    const first = await StreamClient.connect(server.ws('/stream'));
    first.ws.on('error', () => undefined);
    const announced = await first.session();
    const produced = await transcriptsAfter(first, ctx.signal);
    const seqs = first.transcripts().map((t) => Number(t['seq']));
    const session: Resumable = {
      sessionId: announced.session_id,
      resumeToken: announced.resume_token,
      lastSeq: seqs.length > 0 ? Math.max(...seqs) : -1,
    };
    first.drop();
    if (produced === 0)
      return outcome(
        [broke('could not be checked: the session produced no transcript')],
        'no transcript before the drop',
        {},
      );
    await sleepUnlessAborted(300, ctx.signal);

    // First an honest resume, so a refusal below is about last_seq and not about a session that is gone, and so
    // the count of transcripts after a bogus resume has something to be compared with.
    const honest = await resume(server, session, session.lastSeq, 'query');
    const honestAfter =
      honest.answer === 'resumed' && honest.client ? await transcriptsAfter(honest.client, ctx.signal) : null;
    honest.client?.drop();
    if (honest.answer !== 'resumed')
      return outcome(
        [broke(`could not be checked: an honest resume got ${honest.answer}`)],
        `seq ${session.lastSeq}; honest resume: ${honest.answer}`,
        { session: session.lastSeq, honest: honest.answer },
      );
    await sleepUnlessAborted(300, ctx.signal);

    const attempts: {
      lastSeq: number;
      via: 'query' | 'message';
      answer: ResumeAnswer;
      transcriptsAfter: number | null;
    }[] = [];
    for (const [lastSeq, via] of [
      [1_000_000, 'query'],
      [Number.MAX_SAFE_INTEGER, 'message'],
    ] as const) {
      const attempt = await resume(server, session, lastSeq, via);
      const after =
        attempt.answer === 'resumed' && attempt.client ? await transcriptsAfter(attempt.client, ctx.signal) : null;
      attempt.client?.drop();
      attempts.push({ lastSeq, via, answer: attempt.answer, transcriptsAfter: after });
      await sleepUnlessAborted(300, ctx.signal);
    }
    const checks = attempts.map((a): Check => {
      const what = `last_seq ${a.lastSeq} (${a.via})`;
      if (a.answer === 'resume_failed' || a.answer === 'HTTP 400') return held(`${what}: ${a.answer}`);
      if (a.answer === 'resumed')
        return broke(`${what} accepted; ${a.transcriptsAfter ?? 0} transcripts reached the client afterwards`);
      return degraded(`${what}: ${a.answer}`);
    });
    const attemptsText = attempts
      .map(
        (a) =>
          `last_seq ${a.lastSeq} via ${a.via}: ${a.answer}` +
          `${a.transcriptsAfter !== null ? ` (${a.transcriptsAfter} transcripts after)` : ''}`,
      )
      .join('; ');
    return outcome(
      [...checks, await judgeAlive(server, await server.monitor.snapshot())],
      `session at seq ${session.lastSeq}; honest resume: ${honest.answer} (${honestAfter ?? 0} transcripts ` +
        `after); ${attemptsText}`,
      { sessionSeq: session.lastSeq, honest: honest.answer, honestTranscriptsAfter: honestAfter, attempts },
    );
  },
};

/** Opens one raw /stream connection, waits for its session and sends `frame`; null if refused. */
async function openDetachable(url: string, frame: Buffer, signal: AbortSignal): Promise<RawWebSocket | null> {
  try {
    const open = await RawWebSocket.open(url);
    if (!('ws' in open)) return null;
    const deadline = clock() + 5000;
    while (open.ws.textCount === 0 && !open.ws.closed && !signal.aborted && clock() < deadline)
      await sleepUnlessAborted(5, signal);
    open.ws.write(frame);
    return open.ws;
  } catch {
    return null;
  }
}

const detachedMemory: Scenario = {
  row: 9,
  title: 'many concurrent detached sessions: is the memory given back when they expire',
  limitS: 180,
  needsBaseline: false,
  async run(ctx) {
    const count = ctx.quick ? Math.min(ctx.sessions, 200) : ctx.sessions;
    const ttlMs = 2000;
    // The per-principal and global detached caps are raised to `count`: the row measures whether memory comes back,
    // which the caps (correctly) would otherwise hide by never letting this many sessions exist.
    const server = await ctx.startServer({
      RESUME_TTL_MS: String(ttlMs),
      MAX_SESSIONS: String(count + 10),
      MAX_DETACHED_SESSIONS: String(count),
      MAX_DETACHED_PER_PRINCIPAL: String(count),
    });
    await sleepUnlessAborted(1500, ctx.signal);
    const idleAt = clock();
    // One second of silence each (the largest frame allowed): the session's buffers are in use as after real
    // streaming, and no utterance starts, so no inference competes with the measurement.
    const frame = clientFrame(Opcode.binary, new Uint8Array(32_000));
    const sockets: RawWebSocket[] = [];
    let refused = 0;
    for (let i = 0; i < count && !ctx.signal.aborted; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, count - i) }, () => openDetachable(server.ws('/stream'), frame, ctx.signal)),
      );
      for (const ws of batch) {
        if (ws) sockets.push(ws);
        else refused++;
      }
    }
    const live = await stats(server);
    for (const ws of sockets) ws.destroy();
    const droppedAt = clock();
    // Every session expires ttlMs after its drop; the purge is then up to the server.
    let remaining = await stats(server);
    while (
      (remaining === null || remaining.active > 0) &&
      clock() - droppedAt < ttlMs + 20_000 &&
      !ctx.signal.aborted
    ) {
      await sleepUnlessAborted(250, ctx.signal);
      remaining = await stats(server);
    }
    const expiredAt = clock();
    // Freed memory goes back to the system lazily (allocator trims); give it a few seconds before reading "after".
    await sleepUnlessAborted(5000, ctx.signal);
    const data = await server.monitor.snapshot();
    const idle = rssIn(data, idleAt - 1000, idleAt).endMb;
    const peak = rssIn(data, idleAt, clock()).peakMb;
    const after = rssIn(data, clock() - 1000, clock()).endMb;
    const growth = peak - idle;
    const retained = after - idle;
    const figures =
      `${sockets.length} sessions${refused > 0 ? ` (${refused} refused)` : ''} (attached ` +
      `${live?.attached ?? '–'}), dropped; expired in ${Math.round((expiredAt - droppedAt) / 100) / 10} s; RSS ` +
      `idle ${idle} / peak ${peak} / after ${after} MB`;
    const checks: Check[] = [await judgeAlive(server, data)];
    if (remaining === null || remaining.active > 0)
      checks.push(
        broke(
          `${remaining?.active ?? '?'} sessions still held ${Math.round((clock() - droppedAt) / 1000)} s after ` +
            'the drops',
        ),
      );
    else if (sockets.length === 0) checks.push(broke('no session could be opened'));
    else if (retained <= Math.max(64, growth * 0.1))
      checks.push(held(`RSS back near idle (+${retained} MB of +${growth} MB)`));
    else if (retained <= growth * 0.5) checks.push(degraded(`RSS kept ${retained} MB of the +${growth} MB`));
    else checks.push(broke(`RSS kept ${retained} MB of the +${growth} MB after every session expired`));
    return outcome(checks, figures, {
      sessions: sockets.length,
      refused,
      idleMb: idle,
      peakMb: peak,
      afterMb: after,
      expiredAfterMs: Math.round(expiredAt - droppedAt),
      remaining,
    });
  },
};

/** A session from `localAddress` that got some audio, dropped without a close frame: resumable for its window. */
async function detachedSession(server: ServerUnderTest, localAddress: string): Promise<Resumable | string> {
  const { client, outcome: started } = await startSession(server.ws('/stream'), { localAddress });
  if (!client || started !== 'session') return started;
  const announced = await client.session();
  client.sendBytes(speechFrame());
  client.drop();
  return { sessionId: announced.session_id, resumeToken: announced.resume_token, lastSeq: -1 };
}

const crowdedOut: Scenario = {
  row: 40,
  title: 'another client drops 60 sessions from 15 addresses just after a victim’s drop (MAX_DETACHED_SESSIONS 50)',
  limitS: 120,
  needsBaseline: false,
  async run(ctx) {
    // Defaults: 50 detached sessions in all, 4 per address without authentication; the attacker keeps within its
    // own quota at every address and passes the global one.
    const server = await ctx.startServer({ MAX_SESSIONS: '100' });
    const victim = await detachedSession(server, LOOPBACK);
    if (typeof victim === 'string') return outcome([broke(`could not be checked: the victim got ${victim}`)], '', {});
    await sleepUnlessAborted(300, ctx.signal);
    let dropped = 0;
    for (let address = 2; address <= 16 && !ctx.signal.aborted; address++) {
      for (let i = 0; i < 4; i++)
        if (typeof (await detachedSession(server, `127.0.0.${address}`)) !== 'string') dropped++;
    }
    // The server learns of each drop from the TCP close.
    await sleepUnlessAborted(500, ctx.signal);
    const after = await stats(server);
    const attempt = await resume(server, victim, -1, 'query');
    attempt.client?.drop();
    const figures =
      `victim dropped, then ${dropped} attacker sessions dropped from 15 addresses (detached ` +
      `after: ${after?.detached ?? '–'}) → victim's resume: ${attempt.answer}`;
    const checks: Check[] = [await judgeAlive(server, await server.monitor.snapshot())];
    if (dropped < 60) checks.push(broke(`could not be checked: only ${dropped} of 60 attacker sessions started`));
    else if (attempt.answer === 'resumed') checks.push(held('the victim resumed its session'));
    else checks.push(broke(`the victim's detached session was pushed out (${attempt.answer})`));
    return outcome(checks, figures, { dropped, detachedAfter: after?.detached ?? null, victim: attempt.answer });
  },
};

const failedResumes: Scenario = {
  row: 41,
  title: '100 resumes of sessions that do not exist, from one address, beside a victim that resumes its own',
  limitS: 120,
  needsBaseline: false,
  async run(ctx) {
    const server = await ctx.startServer();
    const victim = await detachedSession(server, OTHER_LOOPBACK);
    if (typeof victim === 'string') return outcome([broke(`could not be checked: the victim got ${victim}`)], '', {});
    const created = async (): Promise<number> => {
      const text = await (await fetch(`${server.http}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
      return Number(/^stt_sessions_created_total (\d+)/m.exec(text)?.[1] ?? Number.NaN);
    };
    const createdBefore = await created();
    const answers: ResumeAnswer[] = [];
    for (let i = 0; i < 100 && !ctx.signal.aborted; i++) {
      const guess = await resume(server, { sessionId: `guess-${i}`, resumeToken: 'guess', lastSeq: -1 }, -1, 'query');
      guess.client?.drop();
      answers.push(guess.answer);
    }
    const sessionsStarted = (await created()) - createdBefore;
    const own = await resume(server, victim, -1, 'query', OTHER_LOOPBACK);
    own.client?.drop();
    const counts = statusCounts(answers);
    const firstRefusal = answers.indexOf('HTTP 429');
    const figures =
      `100 failed resumes: ${counts}; first 429 after ${firstRefusal < 0 ? '–' : firstRefusal} ` +
      `failures; sessions started in their place: ${sessionsStarted}; victim from another address: ${own.answer}`;
    const checks: Check[] = [await judgeAlive(server, await server.monitor.snapshot())];
    if (firstRefusal < 0) checks.push(broke(`never throttled: ${counts}, ${sessionsStarted} sessions started`));
    else if (firstRefusal <= 10 && sessionsStarted <= 10)
      checks.push(
        held(`throttled after ${firstRefusal} failures (429 with Retry-After), ${sessionsStarted} sessions started`),
      );
    else checks.push(degraded(`throttled late: after ${firstRefusal} failures, ${sessionsStarted} sessions started`));
    checks.push(
      own.answer === 'resumed'
        ? held('the victim at another address resumed')
        : broke(`the victim at another address could not resume (${own.answer})`),
    );
    return outcome(checks, figures, { answers: counts, firstRefusal, sessionsStarted, victim: own.answer });
  },
};

export const sessionRows: Scenario[] = [sessionSlots, futureSeq, detachedMemory, crowdedOut, failedResumes];
