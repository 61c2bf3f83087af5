/**
 * Attack rows against configuration and lifecycle: what the unauthenticated endpoints disclose (10), JWT claims
 * and a weak JWT secret (11), shutdown held up by a client that never reads (12), and a forwarding remote that
 * accepts and never answers (13).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CompactSign } from 'jose';
import { fixturesDir, readWav16kMono } from '../../engine/index.js';
import { HungRemote, Opcode, RawWebSocket, clientFrame, tryUpgrade } from './attack-clients.js';
import { clock } from './attack-monitor.js';
import type { ServerUnderTest } from './attack-server.js';
import { broke, degraded, held, outcome, sleepUnlessAborted, type Check, type Scenario } from './attack-scenario.js';
import { StreamClient } from './raw-stream-client.js';

const jfk = (): Int16Array => readWav16kMono(join(fixturesDir, 'speech', 'jfk.wav'));

const FORWARD_SECRET = 'secret';
const FORWARD_WITH_CREDENTIALS = `http://user:${FORWARD_SECRET}@127.0.0.1:9/v1/audio/transcriptions`;

/** What in a string would disclose where the server's files or upstreams are, or a credential. */
function disclosure(value: string): string | null {
  if (value.includes(FORWARD_SECRET) || value.includes('user:')) return 'credential';
  if (/[a-z][a-z0-9+.-]*:\/\//i.test(value)) return 'URL';
  if (value.includes('/')) return 'path';
  return null;
}

const masked = (value: string): string =>
  (value.length > 80 ? `${value.slice(0, 77)}...` : value).replaceAll(FORWARD_SECRET, '***');

/** Every string in a JSON body that discloses something, as "path.to.field (kind): value". */
function jsonLeaks(value: unknown, at: string): string[] {
  if (typeof value === 'string') {
    const kind = disclosure(value);
    return kind ? [`${at} (${kind}): ${masked(value)}`] : [];
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => jsonLeaks(item, `${at}[${i}]`));
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([key, item]) => jsonLeaks(item, `${at}.${key}`));
  return [];
}

/** Prometheus label values that disclose something, and the secret anywhere in the text. */
function metricsLeaks(text: string): string[] {
  const leaks: string[] = [];
  for (const match of text.matchAll(/(\w+)="([^"]*)"/g)) {
    const kind = disclosure(match[2] as string);
    if (kind) leaks.push(`/metrics label ${match[1]} (${kind}): ${masked(match[2] as string)}`);
  }
  if (text.includes(FORWARD_SECRET)) leaks.push('/metrics contains the FORWARD_URL password');
  return leaks;
}

async function endpointLeaks(server: ServerUnderTest): Promise<{ leaks: string[]; statuses: string }> {
  const leaks: string[] = [];
  const statuses: string[] = [];
  for (const path of ['/readyz', '/stats']) {
    const response = await fetch(`${server.http}${path}`, { signal: AbortSignal.timeout(5000) });
    statuses.push(`${path} ${response.status}`);
    leaks.push(...jsonLeaks(await response.json(), path));
  }
  const metrics = await fetch(`${server.http}/metrics`, { signal: AbortSignal.timeout(5000) });
  statuses.push(`/metrics ${metrics.status}`);
  leaks.push(...metricsLeaks(await metrics.text()));
  return { leaks, statuses: statuses.join(', ') };
}

/**
 * The error a streaming client gets when a final cannot be forwarded (FORWARD_URL's port 9 refuses): it must not
 * carry FORWARD_URL's credentials either. Null when no such error came within 20 s.
 */
async function forwardingError(server: ServerUnderTest, signal: AbortSignal): Promise<string | null> {
  const client = await StreamClient.connect(server.ws('/stream'));
  client.ws.on('error', () => undefined);
  await client.stream(jfk().subarray(0, 4 * 16000), { speed: 4, frameMs: 20 });
  client.sendJson({ type: 'flush' });
  const deadline = clock() + 20_000;
  let message: string | null = null;
  while (message === null && clock() < deadline && !signal.aborted) {
    const found = client.errors().find((e) => e['code'] === 'transcription_failed');
    if (found) message = String(found['message']);
    else await sleepUnlessAborted(50, signal);
  }
  client.ws.terminate();
  return message;
}

const disclosureRow: Scenario = {
  row: 10,
  title: 'disclosure on /readyz, /stats, /metrics (no authentication) and in forwarding errors',
  limitS: 60,
  needsBaseline: false,
  async run(ctx) {
    const plain = await endpointLeaks(await ctx.startServer());
    const forwarder = await ctx.startServer({ FORWARD_URL: FORWARD_WITH_CREDENTIALS });
    const forwarding = await endpointLeaks(forwarder);
    const streamError = await forwardingError(forwarder, ctx.signal);
    const judge = (name: string, found: string[]): Check =>
      found.length === 0
        ? held(`${name}: no path, URL or credential`)
        : broke(
            `${name} discloses ${found.slice(0, 3).join('; ')}${found.length > 3 ? ` (+${found.length - 3})` : ''}`,
          );
    const errorCheck: Check =
      streamError === null
        ? degraded('no transcription_failed reached the client to check')
        : disclosure(streamError) === 'credential'
          ? broke(`transcription_failed tells the client FORWARD_URL's credentials ("${masked(streamError)}")`)
          : held('transcription_failed carries no credential');
    const errorText =
      streamError === null
        ? 'none'
        : disclosure(streamError) === 'credential'
          ? 'has the credentials'
          : 'no credential';
    return outcome(
      [judge('default server', plain.leaks), judge('FORWARD_URL with user:secret@', forwarding.leaks), errorCheck],
      `default: ${plain.leaks.length} disclosures (${plain.statuses}); with FORWARD_URL user:***@: ` +
        `${forwarding.leaks.length} disclosures; its transcription_failed: ${errorText}`,
      { plain, forwarding, streamError: streamError === null ? null : masked(streamError) },
    );
  },
};

/** An HS256 JWT with any payload at all: jose's SignJWT would not let a test give `sub` a number or an object. */
function jwt(payload: Record<string, unknown>, secret: string): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));
}

const jwtClaims: Scenario = {
  row: 11,
  title: 'JWT claims: object/number/empty sub, exp in the year 3000; JWT_SECRET=a',
  limitS: 60,
  needsBaseline: false,
  async run(ctx) {
    const secret = randomBytes(32).toString('base64url');
    const server = await ctx.startServer({ JWT_SECRET: secret });
    const now = Math.floor(Date.now() / 1000);
    const year3000 = Math.floor(Date.UTC(3000, 0, 1) / 1000);
    const cases: { name: string; payload: Record<string, unknown>; expected: 101 | 401 }[] = [
      { name: 'valid sub "alice"', payload: { sub: 'alice', iat: now, exp: now + 600 }, expected: 101 },
      { name: 'sub "42"', payload: { sub: '42', iat: now, exp: now + 600 }, expected: 101 },
      { name: 'sub 42 (number)', payload: { sub: 42, iat: now, exp: now + 600 }, expected: 401 },
      { name: 'sub {"id":"alice"}', payload: { sub: { id: 'alice' }, iat: now, exp: now + 600 }, expected: 401 },
      { name: 'sub ""', payload: { sub: '', iat: now, exp: now + 600 }, expected: 401 },
      { name: 'exp in the year 3000', payload: { sub: 'alice', iat: now, exp: year3000 }, expected: 401 },
    ];
    const results: { name: string; expected: number; status: number }[] = [];
    for (const c of cases) {
      const token = await jwt(c.payload, secret);
      const status = await tryUpgrade(server.ws('/stream'), { headers: { authorization: `Bearer ${token}` } });
      results.push({ name: c.name, expected: c.expected, status });
    }
    const checks = results.map((r): Check => {
      if (r.status === r.expected) return held(`${r.name}: ${r.status}`);
      if (r.expected === 101) return degraded(`${r.name} refused (${r.status})`);
      return r.status === 101
        ? broke(`${r.name} accepted`)
        : degraded(`${r.name}: ${r.status || 'no answer'}, not 401`);
    });
    const weak = await ctx.launch({ JWT_SECRET: 'a' });
    let startup: Check;
    let startupText: string;
    if ('ready' in weak) {
      startup = broke('started with JWT_SECRET=a');
      startupText = 'JWT_SECRET=a: started';
    } else {
      const exit = weak.failed.signal ?? `exit ${weak.failed.code}`;
      const says = /JWT_SECRET/.test(weak.output);
      const line = weak.output.split('\n').find((l) => /JWT_SECRET/.test(l)) ?? weak.output.split('\n')[0] ?? '';
      startupText = `JWT_SECRET=a: ${exit}${says ? ` ("${masked(line.trim())}")` : ''}`;
      startup =
        weak.failed.code !== 0 && weak.failed.code !== null
          ? says
            ? held(`JWT_SECRET=a refused at start-up (${exit})`)
            : degraded(`JWT_SECRET=a refused (${exit}) without naming JWT_SECRET`)
          : broke(`JWT_SECRET=a: ${exit}`);
    }
    return outcome(
      [...checks, startup],
      `${results.map((r) => `${r.name} → ${r.status || 'no answer'}`).join(', ')}; ${startupText}`,
      { results, startup: startupText },
    );
  },
};

const SHUTDOWN_TIMEOUT_MS = 3000;
/** How long past SHUTDOWN_TIMEOUT_MS an exit still counts: the final of the open utterance and process teardown. */
const SHUTDOWN_MARGIN_MS = 1500;
/** Past this the row stops waiting for the exit (today's server takes ~30 s, the ws close timeout). */
const SHUTDOWN_WAIT_MS = 12_000;

const slowShutdown: Scenario = {
  row: 12,
  title: 'SIGTERM with a client that never reads',
  limitS: 60,
  needsBaseline: false,
  async run(ctx) {
    const server = await ctx.startServer({ SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
    const open = await RawWebSocket.open(server.ws('/stream'));
    if (!('ws' in open))
      return outcome([broke(`could not be checked: the client was refused (${open.status})`)], '', {});
    const ws = open.ws;
    ws.pauseReading();
    // Three seconds of speech, so an utterance is open and shutdown has a final to deliver to a peer that won't read.
    const pcm = jfk().subarray(0, 3 * 16000);
    for (let offset = 0; offset < pcm.length; offset += 320) {
      const chunk = pcm.subarray(offset, offset + 320);
      ws.write(clientFrame(Opcode.binary, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    }
    await sleepUnlessAborted(1000, ctx.signal);
    const sentAt = clock();
    server.signal('SIGTERM');
    const exit = await Promise.race([server.exited, sleepUnlessAborted(SHUTDOWN_WAIT_MS, ctx.signal).then(() => null)]);
    ws.destroy();
    if (!exit) {
      return outcome(
        [broke(`still running ${SHUTDOWN_WAIT_MS / 1000} s after SIGTERM (killed)`)],
        `SHUTDOWN_TIMEOUT_MS=${SHUTDOWN_TIMEOUT_MS}; no exit within ${SHUTDOWN_WAIT_MS} ms`,
        {
          exitMs: null,
        },
      );
    }
    const ms = Math.round(exit.at - sentAt);
    const how = exit.signal ?? `exit ${exit.code}`;
    const timing: Check =
      ms <= SHUTDOWN_TIMEOUT_MS + SHUTDOWN_MARGIN_MS
        ? held(`exited ${ms} ms after SIGTERM (${how})`)
        : ms <= 10_000 + SHUTDOWN_MARGIN_MS
          ? degraded(`exited ${ms} ms after SIGTERM, past SHUTDOWN_TIMEOUT_MS=${SHUTDOWN_TIMEOUT_MS}`)
          : broke(`exited only ${ms} ms after SIGTERM`);
    return outcome([timing], `SHUTDOWN_TIMEOUT_MS=${SHUTDOWN_TIMEOUT_MS}: exited ${ms} ms after SIGTERM (${how})`, {
      exitMs: ms,
      code: exit.code,
      signal: exit.signal,
    });
  },
};

const FORWARD_TIMEOUT_MS = 2000;

const hungRemote: Scenario = {
  row: 13,
  title: 'forwarding remote that accepts and never answers',
  limitS: 60,
  needsBaseline: false,
  async run(ctx) {
    const remote = await HungRemote.start();
    ctx.onCleanup(() => remote.close());
    const server = await ctx.startServer({
      FORWARD_URL: `http://127.0.0.1:${remote.port}/v1/audio/transcriptions`,
      FORWARD_TIMEOUT_MS: String(FORWARD_TIMEOUT_MS),
      FORWARD_RETRIES: '0',
    });
    const client = await StreamClient.connect(server.ws('/stream'));
    client.ws.on('error', () => undefined);
    await client.stream(jfk(), { speed: 4, frameMs: 20 });
    const deadline = clock() + 15_000;
    let failure: { at: number; message: string } | null = null;
    while (!failure && clock() < deadline && !ctx.signal.aborted) {
      const found = client.messages.find(
        (m) => m.data['type'] === 'error' && m.data['code'] === 'transcription_failed',
      );
      if (found) failure = { at: performance.timeOrigin + found.at, message: String(found.data['message']) };
      else await sleepUnlessAborted(50, ctx.signal);
    }
    client.ws.terminate();
    const firstRequest = remote.accepted[0];
    if (firstRequest === undefined)
      return outcome(
        [broke('could not be checked: no request reached the hung remote')],
        'no request to the remote',
        {},
      );
    if (!failure)
      return outcome(
        [broke('no transcription_failed within 15 s of the request')],
        `${remote.accepted.length} request(s) to the remote; no error to the client`,
        { requests: remote.accepted.length },
      );
    const ms = Math.round(failure.at - firstRequest);
    const says = failure.message.includes(`no answer within ${FORWARD_TIMEOUT_MS} ms`);
    const check: Check =
      ms <= FORWARD_TIMEOUT_MS + 2000 && says
        ? held(`transcription_failed ${ms} ms after the request`)
        : ms <= 10_000
          ? degraded(`transcription_failed after ${ms} ms${says ? '' : `, message: ${masked(failure.message)}`}`)
          : broke(`transcription_failed only after ${ms} ms`);
    return outcome(
      [check],
      `FORWARD_TIMEOUT_MS=${FORWARD_TIMEOUT_MS}: transcription_failed ${ms} ms after the request reached the ` +
        `remote ("…${masked(failure.message.slice(-60))}")`,
      {
        ms,
        message: failure.message,
      },
    );
  },
};

export const configRows: Scenario[] = [disclosureRow, jwtClaims, slowShutdown, hungRemote];
