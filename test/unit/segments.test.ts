// Progressive finals, scenario by scenario: the session core with a scripted detector and a fake model that hears
// exactly the words whose audio a task holds. Every sample of the audio carries its own position (in ms), so the
// fake model knows which part of the stream each transcription reads; a word belongs to the segment its start falls
// in. Each scenario plays a script and checks the messages; every one of them also checks the contract: each
// segment's partials then its one final, nothing of the next segment before it, finals of a turn that tile its
// audio and together hold every word spoken in it exactly once, one end-of-speech final per turn, the last.
import t, { type Test } from 'tap';
import {
  LanguagePolicy,
  MIN_SEGMENT_MS,
  type SessionError,
  StreamSession,
  TranscriptionScheduler,
  type SessionCheckpoint,
  type StreamSettings,
  type TranscriptEvent,
} from '../../engine/pipeline/index.js';
import {
  ManualRunner,
  ScriptedDetector,
  WINDOW,
  outcome,
  settle,
  type Call,
  TEST_SETTINGS,
} from '../helpers/pipeline-fakes.js';

const SETTINGS = TEST_SETTINGS;
const WINDOW_MS = WINDOW / 16;

/** A spoken word: its text as Whisper would write it and where it begins (session ms). */
type Spoken = [string, number];

/** `count` words from `fromMs` on, one every `everyMs`, a sentence end after every `sentence` words (0: none). */
function speech(fromMs: number, count: number, sentence: number, everyMs = 300, first = 0): Spoken[] {
  return Array.from({ length: count }, (_, i) => {
    const n = first + i;
    return [`w${n}${sentence > 0 && (i + 1) % sentence === 0 ? '.' : ''}`, fromMs + i * everyMs] as Spoken;
  });
}

/** Hears the words whose start is in the task's audio (and, in a partial, at least `lagMs` before its end). */
function hear(spoken: Spoken[], call: Call, lagMs: number): [string, number][] {
  const fromMs = call.task.pcm[0] ?? 0;
  const toMs = fromMs + call.task.pcm.length / 16;
  return spoken.filter(([, at]) => at >= fromMs && at < toMs - lagMs).map(([word, at]) => [word, at - fromMs]);
}

/** s16le audio whose every sample holds its own position in whole ms (session time from `originMs`). */
function positioned(fromSample: number, samples: number): Uint8Array {
  const pcm = new Int16Array(samples);
  for (let i = 0; i < samples; i++) pcm[i] = Math.floor((fromSample + i) / 16) % 32768;
  return new Uint8Array(pcm.buffer);
}

interface Rig {
  session: StreamSession;
  runner: ManualRunner;
  transcripts: TranscriptEvent[];
  failures: SessionError[];
  finalCalls: Call[];
}

interface RigOptions {
  /** Speech probability by window, counted from the session's own first sample. */
  vad: (window: number) => boolean;
  spoken: Spoken[];
  settings?: Partial<StreamSettings>;
  restore?: { checkpoint: SessionCheckpoint; nextSeq: number };
  /** Transcriptions that run at once (default 1: one after another). */
  slots?: number;
}

function rig(options: RigOptions): Rig {
  const runner = new ManualRunner();
  const session = new StreamSession({
    scheduler: new TranscriptionScheduler(runner, { slots: options.slots ?? 1, uploads: 1 }),
    detector: new ScriptedDetector((w) => (options.vad(w) ? 0.9 : 0.02)),
    languages: new LanguagePolicy(['en', 'de'], true),
    defaultLanguage: 'en',
    settings: { ...SETTINGS, ...options.settings },
    restore: options.restore,
  });
  const r: Rig = { session, runner, transcripts: [], failures: [], finalCalls: [] };
  session.on('transcript', (event) => r.transcripts.push(event));
  session.on('failure', (error) => r.failures.push(error));
  return r;
}

/** How the fake model answers: partials hear what has arrived, finals everything in their span (or fail). */
interface Answers {
  spoken: Spoken[];
  /** Finals are left waiting (the test answers them) while this says so. */
  holdFinals?: () => boolean;
  failFinal?: (n: number) => boolean;
}

function answer(r: Rig, answers: Answers, call: Call): void {
  if (call.task.kind === 'partial') {
    call.resolve(outcome(hear(answers.spoken, call, 150)));
    return;
  }
  const n = r.finalCalls.length;
  r.finalCalls.push(call);
  if (answers.holdFinals?.()) return;
  if (answers.failFinal?.(n)) call.reject(Object.assign(new Error('decoder blew up'), { code: 'INFERENCE_FAILED' }));
  else call.resolve(outcome(hear(answers.spoken, call, 0)));
}

/** Streams `ms` of positioned audio in 20 ms frames, answering every transcription as it is asked for. */
async function feed(r: Rig, ms: number, answers: Answers): Promise<void> {
  for (let i = 0; i < ms / 20; i++) {
    r.session.pushAudio(positioned(r.session.samplesReceived, 320));
    await settle();
    for (let call = await r.runner.next(); call; call = await r.runner.next()) {
      if (!call.signal.aborted) answer(r, answers, call);
    }
  }
}

const tag = (m: TranscriptEvent): string => `${m.segmentId}${m.isFinal ? (m.endOfSpeech ? 'E' : 'F') : 'p'}`;
const finalsOf = (r: Rig): TranscriptEvent[] => r.transcripts.filter((m) => m.isFinal);
const wordsIn = (text: string): string[] => text.split(/\s+/).filter((w) => w !== '');

/** The contract every scenario keeps. */
function checkContract(t: Test, r: Rig, spoken: Spoken[]): void {
  const seen = new Set<number>();
  let open: number | null = null;
  let previousFinalEnd = -1;
  for (const m of r.transcripts) {
    t.notOk(seen.has(m.segmentId), `nothing of segment ${m.segmentId} after its final`);
    if (open !== null && m.segmentId !== open)
      t.fail(`segment ${m.segmentId} spoke before segment ${open} had its final`);
    if (!m.isFinal)
      t.ok(m.startMs >= previousFinalEnd, `partial of segment ${m.segmentId} covers only audio after the last final`);
    if (m.isFinal) {
      seen.add(m.segmentId);
      open = null;
      previousFinalEnd = m.endMs;
    } else open = m.segmentId;
  }
  const turns = new Map<number, TranscriptEvent[]>();
  for (const m of finalsOf(r)) turns.set(m.turnId, [...(turns.get(m.turnId) ?? []), m]);
  for (const [turnId, finals] of turns) {
    t.same(
      finals.map((m) => m.endOfSpeech),
      finals.map((_, i) => i === finals.length - 1),
      `turn ${turnId}: one end-of-speech final, its last`,
    );
    for (let i = 1; i < finals.length; i++) {
      const [before, after] = [finals[i - 1] as TranscriptEvent, finals[i] as TranscriptEvent];
      t.equal(
        after.startMs,
        before.endMs,
        `turn ${turnId}: segment ${after.segmentId} starts where segment ${before.segmentId} ended`,
      );
    }
    const heard = finals.flatMap((m) => wordsIn(m.text));
    const [from, to] = [(finals[0] as TranscriptEvent).startMs, (finals.at(-1) as TranscriptEvent).endMs];
    const said = spoken.filter(([, at]) => at >= from && at < to).map(([word]) => word);
    t.same(heard, said, `turn ${turnId}: its finals hold every word said in it, once, in order`);
  }
}

t.test(
  'continuous speech is finalized at committed sentence ends, each final reading only its own segment',
  async (t) => {
    // 40 words, 300 ms apart from 400 ms on (12 s), a sentence every 8 (2.4 s); then silence.
    const spoken = speech(400, 40, 8);
    const r = rig({ vad: (w) => w * WINDOW_MS >= 350 && w * WINDOW_MS < 12_400, spoken });
    await feed(r, 14_000, { spoken });
    checkContract(t, r, spoken);
    const finals = finalsOf(r);
    t.ok(finals.length >= 4, `${finals.length} finals for 12 s of speech`);
    t.ok(
      finals.slice(0, -1).every((m) => /\.$/.test(m.text)),
      `finals before the last end at sentence ends: ${finals.map((m) => JSON.stringify(m.text.slice(-4))).join(' ')}`,
    );
    t.ok(
      finals.every((m) => m.endMs - m.startMs <= SETTINGS.maxSegmentMs),
      `every segment within the limit: ${finals.map((m) => m.endMs - m.startMs).join(', ')} ms`,
    );
    t.ok(
      finals.slice(0, -1).every((m) => m.endMs - m.startMs >= MIN_SEGMENT_MS),
      'no segment cut shorter than the minimum',
    );
    t.ok(
      r.finalCalls.every((call) => call.task.pcm.length <= (SETTINGS.maxSegmentMs + 500) * 16),
      'no final reads more than the segment limit (plus its last word)',
    );
    t.equal(new Set(finals.map((m) => m.turnId)).size, 1, 'one speech turn');
    t.same(r.failures, []);
  },
);

t.test('without sentence ends, a segment is cut at a committed word boundary once it spans the limit', async (t) => {
  const spoken = speech(400, 46, 0);
  const r = rig({ vad: (w) => w * WINDOW_MS >= 350 && w * WINDOW_MS < 14_200, spoken });
  await feed(r, 16_000, { spoken });
  checkContract(t, r, spoken);
  const finals = finalsOf(r);
  t.ok(finals.length >= 3, `${finals.length} finals for 14 s without a sentence end`);
  const lengths = finals.map((m) => m.endMs - m.startMs);
  t.ok(
    lengths.slice(0, -1).every((ms) => ms <= SETTINGS.maxSegmentMs && ms >= SETTINGS.maxSegmentMs - 1500),
    `segments cut near the limit: ${lengths.join(', ')} ms`,
  );
  t.ok(
    finals.slice(0, -1).every((m) => spoken.some(([, at]) => at === m.endMs)),
    'each cut falls where a word begins',
  );
});

t.test('end of speech in the middle of a segment: the turn ends with a final of what is left', async (t) => {
  // One sentence of 8 words (2.4 s), then 3 more words and silence.
  const spoken = speech(400, 11, 8);
  const r = rig({ vad: (w) => w * WINDOW_MS >= 350 && w * WINDOW_MS < 3_700, spoken });
  await feed(r, 5_000, { spoken });
  checkContract(t, r, spoken);
  const finals = finalsOf(r);
  t.same(finals.map(tag), ['0F', '1E'], 'a segment final at the sentence end, then the end of speech');
  t.equal(finals[1]?.text, 'w8 w9 w10', 'the last final holds only the words after the sentence');
});

t.test('flush in the middle of a segment ends the turn there; speech after it is a new turn', async (t) => {
  const spoken = speech(400, 20, 0);
  const r = rig({
    vad: (w) => w * WINDOW_MS >= 350 && w * WINDOW_MS < 6_400,
    spoken,
    settings: { earlyFinals: false },
  });
  await feed(r, 2_500, { spoken });
  await r.session.flush();
  await feed(r, 5_000, { spoken });
  checkContract(t, r, spoken);
  const finals = finalsOf(r);
  t.equal(finals[0]?.turnId, 0);
  t.ok(finals[0]?.endOfSpeech, 'the flush ended the first turn');
  t.ok(Math.abs((finals[0]?.endMs ?? 0) - 2_500) <= 20, `at the audio received (${finals[0]?.endMs} ms)`);
  t.ok(
    finals.slice(1).every((m) => m.turnId === 1),
    'the speech that goes on is the next turn',
  );
  t.ok(finals.at(-1)?.endOfSpeech, 'which its silence ends');
});

t.test('a failed segment final withdraws its partials with an empty final; the turn goes on', async (t) => {
  const spoken = speech(400, 24, 8);
  const r = rig({ vad: (w) => w * WINDOW_MS >= 350 && w * WINDOW_MS < 7_600, spoken });
  await feed(r, 9_000, { spoken, failFinal: (n) => n === 0 });
  const finals = finalsOf(r);
  t.equal(finals[0]?.text, '', 'the failed final is empty');
  t.notOk(finals[0]?.endOfSpeech, 'and does not end the turn');
  t.ok(
    r.transcripts.some((m) => m.segmentId === finals[0]?.segmentId && !m.isFinal),
    'its segment had shown partials, which the empty final withdraws',
  );
  t.match(r.failures, [{ code: 'transcription_failed' }], 'the client is told why');
  t.ok(finals.length >= 3 && finals.slice(1).every((m) => m.text !== ''), 'later segments are transcribed');
  t.ok(finals.at(-1)?.endOfSpeech);
});

t.test('a partial of the next segment waits for the final before it', async (t) => {
  const spoken = speech(400, 16, 8);
  let holding = true;
  const r = rig({ vad: (w) => w * WINDOW_MS >= 350 && w * WINDOW_MS < 5_200, spoken, slots: 2 });
  await feed(r, 4_000, { spoken, holdFinals: () => holding });
  const [first] = r.finalCalls;
  t.ok(first, 'the first segment final was asked for');
  const cut = r.transcripts.length;
  t.notOk(
    r.transcripts.some((m) => m.segmentId > 0),
    'while it runs, nothing of the next segment is shown, though the partial that cut the segment heard its words',
  );
  holding = false;
  first?.resolve(outcome(hear(spoken, first, 0)));
  await settle();
  t.same(r.transcripts.slice(cut).map(tag).slice(0, 2), ['0F', '1p'], 'the final, then the partial that waited for it');
  t.match(
    r.transcripts[cut + 1],
    { text: /^w8\b/, startMs: r.transcripts[cut]?.endMs },
    'which starts where the final ended',
  );
  await feed(r, 2_000, { spoken });
  checkContract(t, r, spoken);
});

t.test('discard in the middle of a turn drops the open segment and closes the turn with an empty final', async (t) => {
  const spoken = speech(400, 30, 8);
  const r = rig({
    vad: (w) => w * WINDOW_MS >= 350 && w * WINDOW_MS < 9_400,
    spoken,
    settings: { earlyFinals: false },
  });
  await feed(r, 3_400, { spoken });
  await r.session.discard();
  const finals = finalsOf(r);
  t.same(finals.map(tag), ['0F', '1E'], 'the sentence before stays final; the open segment ends the turn empty');
  t.equal(finals[1]?.text, '');
  t.equal(finals[1]?.endMs, finals[1]?.startMs, 'its audio is dropped');
  await feed(r, 8_000, { spoken });
  t.ok(
    finalsOf(r)
      .slice(2)
      .every((m) => m.turnId === 1),
    'speech after the discard is a new turn',
  );
});

t.test('a session restored from a checkpoint taken mid-turn carries the turn on and closes it', async (t) => {
  const spoken = speech(400, 30, 8);
  const vad = (fromMs: number) => (w: number) => fromMs + w * WINDOW_MS >= 350 && fromMs + w * WINDOW_MS < 9_400;
  const first = rig({ vad: vad(0), spoken });
  let checkpoint: SessionCheckpoint | null = null;
  let nextSeq = 0;
  first.session.on('transcript', (m) => {
    // As the hosted session does: the checkpoint taken as each transcript leaves; keep the one after the first final.
    if (m.isFinal && !checkpoint) {
      checkpoint = first.session.checkpoint();
      nextSeq = first.session.nextSeq;
    }
  });
  await feed(first, 5_000, { spoken });
  first.session.close();
  const taken = checkpoint as SessionCheckpoint | null;
  if (!taken) return t.fail('no final before the instance died');
  t.match(taken, { turnId: 0, turnSent: true }, 'taken mid-turn, after the turn sent transcripts');
  const firstFinal = finalsOf(first)[0] as TranscriptEvent;
  t.equal(taken.audioSample, firstFinal.endMs * 16, 'at the end of the segment whose final is out');

  const fromMs = taken.audioSample / 16;
  const second = rig({ vad: vad(fromMs), spoken, restore: { checkpoint: taken, nextSeq } });
  await feed(second, 9_400 + 1_000 - fromMs, { spoken });
  const finals = finalsOf(second);
  t.ok(finals.length >= 1);
  t.ok(
    finals.every((m) => m.turnId === 0),
    'the restored session carries on the same turn',
  );
  t.equal(finals[0]?.segmentId, taken.nextSegmentId, 'numbering its segments on');
  t.ok(finals.at(-1)?.endOfSpeech, 'and closes the turn');
  const heard = [firstFinal, ...finals].flatMap((m) => wordsIn(m.text));
  t.same(
    heard,
    spoken.map(([word]) => word),
    'between them, every word once',
  );
});

t.test(
  'a language asked for in the middle of a turn applies from the next turn on, not to its later segments',
  async (t) => {
    const spoken = [...speech(400, 24, 8), ...speech(9_000, 8, 8, 300, 24)];
    const r = rig({
      vad: (w) => (w * WINDOW_MS >= 350 && w * WINDOW_MS < 7_600) || (w * WINDOW_MS >= 8_950 && w * WINDOW_MS < 11_500),
      spoken,
    });
    await feed(r, 3_000, { spoken });
    r.session.setLanguage('de');
    await feed(r, 10_000, { spoken });
    const finals = finalsOf(r);
    const languageOf = (m: TranscriptEvent): string | undefined =>
      r.finalCalls.find((call) => (call.task.pcm[0] ?? -1) === m.startMs)?.task.options.language;
    t.same(
      finals.map((m) => [m.turnId, languageOf(m)]),
      finals.map((m) => [m.turnId, m.turnId === 0 ? 'en' : 'de']),
      'every segment of the first turn in English, the next turn in German',
    );
    t.ok(finals.filter((m) => m.turnId === 0).length >= 3, 'the first turn had several segments');
  },
);
