/**
 * Attack rows against POST /v1/audio/transcriptions: an enormous prompt (1), a WAV whose header says 1 Hz (2), a
 * flood of uploads during a live stream (3), and cross-site requests from a browser on another origin (14).
 */
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import { encodeWav, fixturesDir, readWav16kMono } from '../../engine/index.js';
import { postForm, tryUpgrade, type PostResult } from './attack-clients.js';
import { clock } from './attack-monitor.js';
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
import { judgeVictim, judgeVictimWorks, runVictim, victimText } from './attack-victim.js';

const UPLOAD_PATH = '/v1/audio/transcriptions';

function jfk(): Int16Array {
  return readWav16kMono(join(fixturesDir, 'speech', 'jfk.wav'));
}

/** The first `seconds` of jfk.wav as a 16 kHz WAV file. */
function speechWav(seconds: number): Uint8Array {
  return encodeWav(jfk().subarray(0, seconds * 16000));
}

/** Deterministic lowercase letters with no space: one very long "word". */
function longWord(letters: number): string {
  let state = 12345;
  let word = '';
  for (let i = 0; i < letters; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    word += String.fromCharCode(97 + ((state >>> 16) % 26));
  }
  return word;
}

/** The `code` of an error body in OpenAI's shape ({"error": {"message", "type", "param", "code"}}), if it is one. */
function openAiErrorCode(body: string): string | null {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== 'object' || parsed === null) return null;
    const error: unknown = (parsed as { error?: unknown }).error;
    if (typeof error !== 'object' || error === null) return null;
    const { message, type, code } = error as { message?: unknown; type?: unknown; code?: unknown };
    return typeof message === 'string' && typeof type === 'string' && typeof code === 'string' ? code : null;
  } catch {
    return null;
  }
}

function describePost(post: PostResult): string {
  if (post.status === 0) return `no answer after ${post.ms} ms (${post.error ?? 'connection lost'})`;
  const code = openAiErrorCode(post.body);
  return `${post.status}${code ? ` ${code}` : ''} in ${post.ms} ms`;
}

const longPrompt: Scenario = {
  row: 1,
  title: 'upload with a 50,000-letter one-word prompt',
  limitS: 60,
  // The victim only has to keep working here (its latency is not judged): the attack is on the process, not on
  // capacity.
  needsBaseline: false,
  async run(ctx) {
    const server = await ctx.startServer();
    const from = clock();
    const victim = runVictim(server.ws('/stream'));
    await sleepUnlessAborted(1500, ctx.signal);
    const post = await postForm(
      `${server.http}${UPLOAD_PATH}`,
      { model: 'whisper-1', prompt: longWord(50_000) },
      speechWav(2),
      {},
      { signal: ctx.signal, timeoutMs: 30_000 },
    );
    const v = await victim;
    const m = await measure(server, from, clock());
    const answer: Check =
      post.status === 200
        ? held(`answered 200 (${post.ms} ms)`)
        : post.status >= 400 && post.status < 500
          ? openAiErrorCode(post.body)
            ? held(`refused ${describePost(post)}`)
            : degraded(`refused ${post.status}, but not in OpenAI's error shape`)
          : broke(`upload got ${describePost(post)}`);
    return outcome(
      [answer, await judgeAlive(server, m.data), judgeVictimWorks(v), judgeLag(m.lag)],
      `upload ${describePost(post)}; ${lagText(m.lag)}; ${victimText(v)}`,
      {
        upload: { status: post.status, ms: post.ms, code: openAiErrorCode(post.body) },
        lag: m.lag,
        rss: m.rss,
        victim: v,
      },
    );
  },
};

const oneHertz: Scenario = {
  row: 2,
  title: '64 KB WAV whose header says 1 Hz',
  limitS: 60,
  needsBaseline: false,
  async run(ctx) {
    const server = await ctx.startServer();
    // 64 KB of samples: at 1 Hz that claims 9 hours of audio, which a resampler to 16 kHz would make 16,000 times
    // bigger.
    const samples = new Int16Array((64 * 1024 - 44) / 2).map((_, i) => Math.round(8000 * Math.sin(i / 7)));
    await sleepUnlessAborted(500, ctx.signal);
    const from = clock();
    const post = await postForm(
      `${server.http}${UPLOAD_PATH}`,
      { model: 'whisper-1' },
      encodeWav(samples, 1),
      {},
      { signal: ctx.signal, timeoutMs: 15_000 },
    );
    // Whatever the request left running (resampling, inference) shows in the second after the answer.
    await sleepUnlessAborted(1000, ctx.signal);
    const m = await measure(server, from, clock());
    const answer: Check =
      post.status === 400
        ? post.ms <= 1000
          ? held(`refused ${describePost(post)}`)
          : degraded(`refused, but slowly: ${describePost(post)}`)
        : post.status > 400 && post.status < 500
          ? degraded(`refused with ${describePost(post)} rather than 400`)
          : broke(`the 1 Hz file got ${describePost(post)}`);
    return outcome(
      [answer, await judgeAlive(server, m.data), judgeLag(m.lag), judgeGrowth(m.rss, 64, 256)],
      `upload ${describePost(post)}; ${lagText(m.lag)}; ${rssText(m.rss)}`,
      { upload: { status: post.status, ms: post.ms, code: openAiErrorCode(post.body) }, lag: m.lag, rss: m.rss },
    );
  },
};

const uploadFlood: Scenario = {
  row: 3,
  title: 'waves of 20 parallel uploads during a live stream',
  limitS: 90,
  needsBaseline: true,
  async run(ctx) {
    const server = await ctx.startServer();
    const waves = ctx.quick ? 2 : 3;
    const perWave = ctx.quick ? 10 : 20;
    const file = encodeWav(jfk());
    // Uploads still waiting when the victim is done were "served late": abandoned then, so the row stays bounded.
    const abandon = new AbortController();
    setMaxListeners(0, abandon.signal);
    ctx.signal.addEventListener('abort', () => abandon.abort(), { once: true });
    const from = clock();
    const victim = runVictim(server.ws('/stream'));
    const uploads: Promise<PostResult>[] = [];
    for (let wave = 0; wave < waves && !ctx.signal.aborted; wave++) {
      await sleepUnlessAborted(wave === 0 ? 1000 : 3000, ctx.signal);
      for (let i = 0; i < perWave; i++)
        uploads.push(
          postForm(`${server.http}${UPLOAD_PATH}`, { model: 'whisper-1' }, file, {}, { signal: abandon.signal }),
        );
    }
    const v = await victim;
    await sleepUnlessAborted(1000, ctx.signal);
    abandon.abort();
    const posts = await Promise.all(uploads);
    const m = await measure(server, from, clock());
    const status = (p: PostResult): string =>
      p.status === 0
        ? abandon.signal.aborted && /abort/i.test(p.error ?? '')
          ? 'waiting'
          : 'failed'
        : String(p.status);
    const statuses = posts.map(status);
    const refused = posts.filter((p) => p.status === 429 || p.status === 503);
    const withoutRetryAfter = refused.filter((p) => p.headers['retry-after'] === undefined).length;
    const unexpected = statuses.filter((s) => !['200', '429', '503', 'waiting'].includes(s));
    const served = posts.filter((p) => p.status === 200).map((p) => p.ms);
    const firstFailure = posts.find((p) => status(p) === 'failed')?.error;
    const uploadCheck: Check =
      unexpected.length > 0
        ? degraded(`uploads got ${statusCounts(unexpected)}${firstFailure ? ` (${firstFailure})` : ''}`)
        : withoutRetryAfter > 0
          ? degraded(`${withoutRetryAfter} refusal(s) without Retry-After`)
          : held(`uploads: ${statusCounts(statuses)}`);
    return outcome(
      [judgeVictim(v, ctx.baseline), uploadCheck, await judgeAlive(server, m.data), judgeLag(m.lag)],
      `${waves}×${perWave} uploads: ` +
        `${statusCounts(statuses)}${served.length > 0 ? ` (served in ≤ ${Math.max(...served)} ms)` : ''}; ` +
        `${victimText(v)}; ${lagText(m.lag)}`,
      {
        uploads: {
          statuses: statusCounts(statuses),
          withoutRetryAfter,
          servedMaxMs: served.length > 0 ? Math.max(...served) : null,
        },
        victim: v,
        lag: m.lag,
        rss: m.rss,
      },
    );
  },
};

const crossSite: Scenario = {
  row: 14,
  title: 'cross-site upload and WebSocket from Origin http://evil.example',
  limitS: 60,
  needsBaseline: false,
  async run(ctx) {
    const server = await ctx.startServer();
    const evil = 'http://evil.example';
    const own = server.http;
    const file = speechWav(1);
    const post = (origin: string | null): Promise<PostResult> =>
      postForm(
        `${server.http}${UPLOAD_PATH}`,
        { model: 'whisper-1' },
        file,
        origin ? { origin, 'sec-fetch-site': origin === evil ? 'cross-site' : 'same-origin' } : {},
        {
          signal: ctx.signal,
          timeoutMs: 30_000,
        },
      );
    const upgrade = (path: string, origin: string | null): Promise<number> =>
      tryUpgrade(server.ws(path), origin ? { origin } : {});

    const evilPost = await post(evil);
    const evilStream = await upgrade('/stream', evil);
    const evilSpeech = await upgrade('/speech', evil);
    const plainPost = await post(null);
    const plainStream = await upgrade('/stream', null);
    const ownPost = await post(own);
    const ownStream = await upgrade('/stream', own);

    const refused = (what: string, status: number, servedStatus: number): Check =>
      status === 403
        ? held(`${what}: 403`)
        : status === servedStatus
          ? broke(`${what} served (${status})`)
          : degraded(`${what}: ${status || 'no answer'}, not 403`);
    const served = (what: string, status: number, expected: number): Check =>
      status === expected ? held(`${what}: ${status}`) : degraded(`${what} refused (${status || 'no answer'})`);
    const checks = [
      refused('cross-site POST', evilPost.status, 200),
      refused('cross-site /stream upgrade', evilStream, 101),
      refused('cross-site /speech upgrade', evilSpeech, 101),
      served('POST without Origin', plainPost.status, 200),
      served('/stream without Origin', plainStream, 101),
      served('same-origin POST', ownPost.status, 200),
      served('same-origin /stream', ownStream, 101),
    ];
    return outcome(
      checks,
      `evil.example: POST ${evilPost.status}, /stream ${evilStream}, /speech ${evilSpeech}; no Origin: POST ` +
        `${plainPost.status}, /stream ${plainStream}; same origin: POST ${ownPost.status}, /stream ${ownStream}`,
      {
        evil: { post: evilPost.status, stream: evilStream, speech: evilSpeech },
        noOrigin: { post: plainPost.status, stream: plainStream },
        sameOrigin: { post: ownPost.status, stream: ownStream },
      },
    );
  },
};

export const httpRows: Scenario[] = [longPrompt, oneHertz, uploadFlood, crossSite];
