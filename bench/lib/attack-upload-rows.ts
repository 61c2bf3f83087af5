/**
 * Attack rows of issue 24 against uploads: bodies cut off mid-way (15, its row 5), a WAV header of millions of empty
 * chunks (16, its row 13) and a streamed upload whose client leaves once the body is out (17, its row 15).
 */
import { request } from 'node:http';
import { join } from 'node:path';
import { encodeWav, fixturesDir, readWav16kMono } from '../../engine/index.js';
import { postForm, type PostResult } from './attack-clients.js';
import { clock } from './attack-monitor.js';
import { loopbackOnly } from './attack-server.js';
import {
  broke,
  degraded,
  held,
  judgeAlive,
  judgeLag,
  lagText,
  measure,
  outcome,
  sleepUnlessAborted,
  statusCounts,
  type Check,
  type Scenario,
} from './attack-scenario.js';
import { judgeVictimWorks, runVictim, victimText } from './attack-victim.js';

const UPLOAD_PATH = '/v1/audio/transcriptions';
const BOUNDARY = 'attack-upload-boundary';

const jfk = (): Int16Array => readWav16kMono(join(fixturesDir, 'speech', 'jfk.wav'));

/** The head of a multipart body whose file part starts right after it. */
function head(fields: Record<string, string>): Buffer {
  const parts = Object.entries(fields).map(
    ([name, value]) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  const disposition = 'Content-Disposition: form-data; name="file"; filename="a.wav"';
  const file = `--${BOUNDARY}\r\n${disposition}\r\nContent-Type: audio/wav\r\n\r\n`;
  return Buffer.from(`${parts.join('')}${file}`);
}

/**
 * A multipart POST that declares `declared` bytes, writes `parts` and then, unless `end`, is cut; resolves once
 * written.
 */
function rawUpload(
  url: string,
  declared: number,
  parts: Buffer[],
  localAddress: string,
  end: boolean,
): Promise<() => void> {
  return new Promise((resolve) => {
    const req = request(loopbackOnly(`${url}${UPLOAD_PATH}`), {
      method: 'POST',
      agent: false,
      localAddress,
      headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': String(declared) },
    });
    req.on('error', () => undefined);
    req.on('response', (res) => res.resume());
    for (const part of parts) req.write(part);
    if (end) req.end();
    req.once(end ? 'finish' : 'socket', () => resolve(() => req.destroy()));
  });
}

interface Stats {
  uploads?: { inProgress: number };
}

async function uploadsInProgress(url: string): Promise<number | null> {
  const stats = (await (await fetch(`${url}/stats`)).json()) as Stats;
  return stats.uploads?.inProgress ?? null;
}

async function uploadRuns(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let runs = 0;
  for (const match of text.matchAll(/^stt_transcriptions_total\{kind="upload",end="[a-z]+"\} (\d+)$/gm))
    runs += Number(match[1]);
  return runs;
}

const describe = (post: PostResult): string =>
  post.status === 0 ? `no answer (${post.error ?? 'lost'})` : `${post.status} in ${post.ms} ms`;

const cutBodies: Scenario = {
  row: 15,
  title: 'uploads cut mid-body (Content-Length 400,000, a few bytes sent): 2 from one address, 10 from 5 addresses',
  limitS: 90,
  needsBaseline: false,
  async run(ctx) {
    const server = await ctx.startServer();
    const from = clock();
    const addresses = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
    const cuts: (() => void)[] = [];
    for (const address of addresses)
      for (let i = 0; i < 2; i++)
        cuts.push(await rawUpload(server.http, 400_000, [head({ model: 'whisper-1' })], address, false));
    // Let the server admit them all (their slots taken), then hang up on every one.
    await sleepUnlessAborted(1000, ctx.signal);
    const taken = await uploadsInProgress(server.http);
    for (const cut of cuts) cut();
    await sleepUnlessAborted(1000, ctx.signal);
    const left = await uploadsInProgress(server.http);
    const file = encodeWav(jfk().subarray(0, 2 * 16000));
    const posts = await Promise.all(
      addresses.map((address) =>
        postForm(
          `${server.http}${UPLOAD_PATH}`,
          { model: 'whisper-1' },
          file,
          {},
          { signal: ctx.signal, timeoutMs: 30_000, localAddress: address },
        ),
      ),
    );
    const m = await measure(server, from, clock());
    const statuses = posts.map((p) => p.status);
    const answer: Check = statuses.every((s) => s === 200)
      ? held(`each address uploads again 1 s after its cut uploads: ${statusCounts(statuses)}`)
      : statuses.some((s) => s === 429 || s === 503)
        ? broke(`locked out after cut uploads: ${statusCounts(statuses)}`)
        : degraded(`uploads after the cuts: ${posts.map(describe).join(', ')}`);
    return outcome(
      [answer, await judgeAlive(server, m.data)],
      `10 cut uploads held ${taken ?? '?'} slots, ${left ?? '?'} 1 s after the hang-ups; ` +
        `then ${statusCounts(statuses)}`,
      {
        slotsTaken: taken,
        slotsLeft: left,
        statuses,
      },
    );
  },
};

const emptyChunks: Scenario = {
  row: 16,
  title: 'WAV uploads with 3.1 million empty chunks (24 MiB), 4 in parallel, beside a live stream',
  limitS: 120,
  needsBaseline: false,
  async run(ctx) {
    const server = await ctx.startServer();
    const wav = encodeWav(jfk().subarray(0, 16000));
    const junk = Buffer.alloc(3_100_000 * 8);
    for (let at = 0; at < junk.length; at += 8) junk.write('junk', at, 'latin1');
    const file = Buffer.concat([wav.subarray(0, 36), junk, wav.subarray(36)]);
    file.writeUInt32LE(file.length - 8, 4);
    const from = clock();
    const victim = runVictim(server.ws('/stream'));
    await sleepUnlessAborted(1500, ctx.signal);
    const addresses = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
    const posts = await Promise.all(
      addresses.map((address) =>
        postForm(
          `${server.http}${UPLOAD_PATH}`,
          { model: 'whisper-1' },
          file,
          {},
          { signal: ctx.signal, timeoutMs: 60_000, localAddress: address },
        ),
      ),
    );
    const v = await victim;
    const m = await measure(server, from, clock());
    const statuses = posts.map((p) => p.status);
    const answer: Check = statuses.every((s) => s === 400)
      ? held(`refused: ${posts.map(describe).join(', ')}`)
      : degraded(`answers: ${posts.map(describe).join(', ')}`);
    return outcome(
      [answer, await judgeAlive(server, m.data), judgeVictimWorks(v), judgeLag(m.lag)],
      `${statusCounts(statuses)}; ${lagText(m.lag)}; ${victimText(v)}`,
      {
        statuses,
        lag: m.lag,
        victim: v,
      },
    );
  },
};

const leftStream: Scenario = {
  row: 17,
  title: 'stream=true upload of a 297 s file whose client hangs up once the body is out',
  limitS: 120,
  needsBaseline: false,
  async run(ctx) {
    const server = await ctx.startServer();
    const speech = jfk();
    const long = new Int16Array(297 * 16000);
    for (let at = 0; at < long.length; at += speech.length)
      long.set(speech.subarray(0, Math.min(speech.length, long.length - at)), at);
    const body = [
      head({ model: 'whisper-1', stream: 'true' }),
      Buffer.from(encodeWav(long)),
      Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
    ];
    const declared = body.reduce((n, part) => n + part.length, 0);
    const cut = await rawUpload(server.http, declared, body, '127.0.0.1', true);
    await sleepUnlessAborted(300, ctx.signal);
    cut();
    const leftAt = clock();
    // Ten windows of work would follow if the server did not notice; it has 20 s to show it stopped.
    let endedAfterMs: number | null = null;
    while (clock() - leftAt < 20_000 && !ctx.signal.aborted) {
      if ((await uploadsInProgress(server.http)) === 0) {
        endedAfterMs = Math.round(clock() - leftAt);
        break;
      }
      await sleepUnlessAborted(100, ctx.signal);
    }
    const runs = await uploadRuns(server.http);
    const m = await measure(server, leftAt, clock());
    const answer: Check =
      endedAfterMs !== null && runs <= 1
        ? held(`the upload ended ${endedAfterMs} ms after its client left; ${runs} of 10 windows transcribed`)
        : runs > 2
          ? broke(`${runs} windows transcribed for nobody${endedAfterMs === null ? ', still running after 20 s' : ''}`)
          : degraded(`${runs} windows transcribed; ended after ${endedAfterMs ?? '> 20,000'} ms`);
    return outcome(
      [answer, await judgeAlive(server, m.data)],
      `ended ${endedAfterMs ?? '> 20,000'} ms after the client left; ${runs} window(s) run`,
      { endedAfterMs, runs },
    );
  },
};

export const uploadRows: Scenario[] = [cutBodies, emptyChunks, leftStream];
