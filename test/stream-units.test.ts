import t from 'tap';
import {
  MIN_SPEECH_MS,
  POST_PAD_MS,
  PRE_PAD_MS,
  PcmRingBuffer,
  TranscriptionScheduler,
  UtteranceDetector,
  collapseRepetitions,
  removeNonSpeech,
  speechText,
  stripPunctuation,
  type JobResult,
  type TranscriptionOutcome,
  type TranscriptionTask,
  type UtteranceEvent,
} from '../engine/pipeline/index.js';
import { join } from 'node:path';
import { fixturesDir, modelsDir, readWav16kMono, resolveModelPath } from '../engine/index.js';
import { TranscriberPool } from '../workers/transcriber-pool.js';

const le = (...samples: number[]): Uint8Array => new Uint8Array(Int16Array.from(samples).buffer);

t.test('ring buffer keeps the newest samples by absolute index across the wrap', async (t) => {
  const ring = new PcmRingBuffer(5);
  ring.write(le(1, 2, 3));
  t.same([...ring.copy(0, 3)], [1, 2, 3]);
  ring.write(le(4, 5, 6, 7));
  t.equal(ring.written, 7);
  t.equal(ring.oldest, 2);
  t.same([...ring.copy(2, 7)], [3, 4, 5, 6, 7], 'copy joins the two halves');
  t.same(
    ring.views(3, 7).map((v) => [...v]),
    [
      [4, 5],
      [6, 7],
    ],
    'views are the two pieces, without copying',
  );
  t.throws(() => ring.copy(1, 4), RangeError, 'overwritten samples are refused');
  t.throws(() => ring.copy(5, 8), RangeError, 'samples not yet written are refused');
  ring.write(le(...Array.from({ length: 12 }, (_, i) => 100 + i)));
  t.same([...ring.copy(14, 19)], [107, 108, 109, 110, 111], 'a write longer than the ring keeps its tail');
  const copy = ring.copy(14, 16);
  t.equal(copy.byteOffset, 0);
  t.equal(copy.buffer.byteLength, 4, 'a copy owns exactly its buffer, ready to transfer');
});

t.test('text filters', async (t) => {
  t.equal(stripPunctuation('Hello, world! Don\'t stop — it’s "fine".'), "Hello world Don't stop it’s fine");
  t.equal(stripPunctuation("'quoted' rock 'n' roll"), 'quoted rock n roll', 'quote marks around words go');
  t.equal(stripPunctuation('నమస్కారం, ఎలా ఉన్నారు?'), 'నమస్కారం ఎలా ఉన్నారు', 'combining marks stay');
  t.equal(stripPunctuation('3.5 km/h'), '3 5 km h');
  t.equal(
    stripPunctuation('$20 + 5% = <x> | ~y^ `z` & co\u0007'),
    '20 5 x y z co',
    'symbols and control characters go too',
  );
  t.equal(removeNonSpeech('[BLANK_AUDIO] (upbeat music) ♪ *laughs* hi'), 'hi');
  t.equal(
    collapseRepetitions("I'm going to go. I'm going to go. I'm going to go. I'm going to go."),
    "I'm going to go.",
  );
  t.equal(collapseRepetitions('the the the the end'), 'the end');
  t.equal(collapseRepetitions('no no no'), 'no no no', 'three single words may be meant');
  t.equal(collapseRepetitions('so so so so good good good good'), 'so good');

  const outcome = (text: string, noSpeechProb: number, avgLogProb: number): TranscriptionOutcome => ({
    text,
    language: 'en',
    segments: [{ text, startMs: 0, endMs: 1000, noSpeechProb, avgLogProb, tokens: [] }],
    timings: { encodeMs: 0, decodeMs: 0, totalMs: 0 },
  });
  t.equal(speechText(outcome(' And so my fellow Americans,', 0.01, -0.3)), 'And so my fellow Americans,');
  t.equal(speechText(outcome(' Hello there.', 0.7, -1.2)), '', 'likely silence and a low-confidence decode');
  t.equal(speechText(outcome(' Hello there.', 0.7, -0.2)), 'Hello there.', 'a confident decode stays');
  t.equal(speechText(outcome(' Thank you.', 0.3, -0.5)), '', 'a stock phrase on doubtful audio goes');
  t.equal(speechText(outcome(' Thank you.', 0.01, -0.2)), 'Thank you.', 'a stock phrase clearly spoken stays');
  t.equal(speechText(outcome(' [BLANK_AUDIO]', 0.01, -0.2)), '');
});

t.test('utterance detector: hysteresis, minimum speech, padding, pause, cut and flush', async (t) => {
  const W = 512;
  const run = (detector: UtteranceDetector, probs: number[]): UtteranceEvent[] =>
    probs.map((p) => detector.process(p)).filter((e): e is UtteranceEvent => e !== null);
  const make = (): UtteranceDetector =>
    new UtteranceDetector({ windowSamples: W, endSilenceMs: 400, maxUtteranceMs: 4000 });
  const minWindows = Math.ceil((MIN_SPEECH_MS * 16) / W);
  const prePad = PRE_PAD_MS * 16;
  const postPad = POST_PAD_MS * 16;

  let d = make();
  t.same(
    run(d, [...Array(20).fill(0), ...Array(minWindows - 1).fill(0.9), 0.1, ...Array(20).fill(0)]),
    [],
    'a blip shorter than the minimum opens nothing',
  );

  d = make();
  const events = run(d, [
    ...Array(20).fill(0),
    ...Array(30).fill(0.9),
    ...Array(5).fill(0.4),
    ...Array(30).fill(0.9),
    ...Array(20).fill(0.05),
  ]);
  t.same(
    events,
    [
      { type: 'start', startSample: 20 * W - prePad },
      { type: 'pause', endSample: 85 * W + postPad },
      { type: 'end', endSample: 85 * W + postPad },
    ],
    'probabilities between the thresholds do not end speech; the pause announces the padded end the silence confirms',
  );

  d = make();
  t.same(
    run(d, [...Array(10).fill(0.9), ...Array(6).fill(0.1), ...Array(10).fill(0.9), ...Array(20).fill(0.1)]).map(
      (e) => e.type,
    ),
    ['start', 'pause', 'resume', 'pause', 'end'],
    'speech after a pause resumes the utterance',
  );
  t.equal(d.speaking, false);

  d = make();
  t.same(
    run(d, [...Array(10).fill(0.9), ...Array(6).fill(0.1), 0.9, 0.9, ...Array(20).fill(0.1)]),
    [
      { type: 'start', startSample: 0 },
      { type: 'pause', endSample: 10 * W + postPad },
      { type: 'end', endSample: 10 * W + postPad },
    ],
    'a blip shorter than the minimum speech in a pause neither resumes nor moves the end',
  );
  d = make();
  t.same(
    run(d, [...Array(10).fill(0.9), 0.1, ...Array(10).fill(0.9)]).map((e) => e.type),
    ['start'],
    'a one-window dip in speech is no pause',
  );

  d = make();
  const long = [...Array(10).fill(0.9), ...Array(100).fill(0.95), 0.3, 0.2, 0.3, ...Array(100).fill(0.95)];
  const cut = run(d, long);
  t.equal(cut[0]?.type, 'start');
  t.equal(d.speaking, true);
  t.same(cut.slice(-1), [{ type: 'cut', cutSample: 111 * W + W / 2 }], 'cut at the quietest point of the second half');

  d = make();
  run(d, [0, 0, 0.9, 0.9]);
  t.same(
    d.flush(3000),
    [
      { type: 'start', startSample: 0 },
      { type: 'end', endSample: 3000 },
    ],
    'flush keeps speech too short to have started',
  );
  t.same(d.flush(4000), [], 'nothing open, nothing to flush');
  t.same(
    run(d, [0.9, ...Array(minWindows).fill(0.9)]).map((e) => e.type),
    ['start'],
  );
});

// The scheduler in front of the real worker pool. With one worker, work completes in the order the scheduler
// dispatched it, and everything submitted in the same turn as a running transcription queues behind it, so the
// order of completions shows the scheduler's choices without any timing.
const jfk = readWav16kMono(join(fixturesDir, 'speech', 'jfk.wav'));

async function withPool(t: { teardown: (fn: () => Promise<void>) => void }, size: number): Promise<TranscriberPool> {
  const pool = await TranscriberPool.start({
    modelPath: resolveModelPath(join(modelsDir, 'ggml-tiny.en-synthetic.bin')).path,
    size,
    threads: 1,
    wordTimestamps: false,
  });
  t.teardown(() => pool.close());
  return pool;
}

/** A task whose transcription takes a while (full 30 s context), so later submissions queue behind it. */
const slow = (): TranscriptionTask => ({
  kind: 'partial',
  pcm: jfk.slice(0, 16000),
  options: { audioCtx: 'full', maxTokens: 4, temperatureFallback: false, threads: 1 },
});
const quick = (): TranscriptionTask => ({
  kind: 'partial',
  pcm: jfk.slice(0, 16000),
  options: { maxTokens: 4, temperatureFallback: false, threads: 1 },
});

/** Deadlines as a session sets them: a partial due before a final asked for at the same time. */
const PARTIAL_MS = 1000;
const FINAL_MS = 500;
const due = (ms: number): number => performance.now() + ms;

function recorder(): { order: string[]; track: (tag: string, job: Promise<JobResult>) => Promise<JobResult> } {
  const order: string[] = [];
  return {
    order,
    track: (tag, job) =>
      job.then((result) => {
        order.push(result === null ? `${tag}:dropped` : tag);
        return result;
      }),
  };
}

t.test('scheduler: earliest deadline first, one partial per owner, newest partial wins, aborts', async (t) => {
  const scheduler = new TranscriptionScheduler(await withPool(t, 1), { slots: 1, uploads: 1 });
  const { order, track } = recorder();
  const a = {};
  const b = {};

  const first = track('a-partial-1', scheduler.partial(a, slow, due(PARTIAL_MS)));
  const replaced = track('a-partial-2', scheduler.partial(a, quick, due(PARTIAL_MS)));
  const newest = track('a-partial-3', scheduler.partial(a, quick, due(PARTIAL_MS)));
  const bPartial = track('b-partial', scheduler.partial(b, quick, due(PARTIAL_MS)));
  const bFinal = track('b-final', scheduler.final(b, quick, { deadline: due(FINAL_MS) }));
  t.same(
    scheduler.stats,
    { running: 1, queuedFinals: 1, queuedPartials: 2, queuedUploads: 0 },
    'one running, the rest queued',
  );
  await Promise.all([first, replaced, newest, bPartial, bFinal]);
  t.same(
    order,
    ['a-partial-2:dropped', 'a-partial-1:dropped', 'b-final', 'a-partial-3', 'b-partial'],
    "the replaced partial is dropped at once; the final, due first, takes the running partial's slot (a newer " +
      'partial of that owner waits); then partials by deadline',
  );
  t.match(await newest, { language: 'en' }, 'a completed job resolves with the transcription');

  const running = track('a-slow', scheduler.partial(a, slow, due(PARTIAL_MS)));
  scheduler.abortPartial(a);
  t.equal(await running, null, 'abortPartial stops the running partial and resolves it with null');

  const busy = track('b-slow', scheduler.final(b, slow, { deadline: due(FINAL_MS) }));
  const queued = track('a-final', scheduler.final(a, quick, { deadline: due(FINAL_MS) }));
  scheduler.cancel(a);
  t.equal(await queued, null, 'cancel drops queued work');
  t.not(await busy, null, 'other owners are unaffected');
  t.same(scheduler.stats, { running: 0, queuedFinals: 0, queuedPartials: 0, queuedUploads: 0 });
});

t.test('scheduler: finals of one owner run one at a time; its partial takes the free worker meanwhile', async (t) => {
  const scheduler = new TranscriptionScheduler(await withPool(t, 2), { slots: 2, uploads: 1 });
  const { order, track } = recorder();
  const a = {};
  const jobs = [
    track('final-1', scheduler.final(a, slow, { deadline: due(FINAL_MS) })),
    track('final-2', scheduler.final(a, quick, { deadline: due(FINAL_MS) })),
    track('partial', scheduler.partial(a, quick, due(PARTIAL_MS))),
  ];
  t.same(
    scheduler.stats,
    { running: 2, queuedFinals: 1, queuedPartials: 0, queuedUploads: 0 },
    'the second final waits for the first; the partial runs beside it',
  );
  await Promise.all(jobs);
  t.same(order, ['partial', 'final-1', 'final-2']);
});

t.test('scheduler: with a limit per kind, finals running elsewhere leave the partial slots free', async (t) => {
  const pool = await withPool(t, 2);
  const shared = new TranscriptionScheduler(pool, { slots: 1, uploads: 1 });
  const split = new TranscriptionScheduler(pool, { slots: 1, uploads: 1, remoteFinals: 2 });
  const jobs: Promise<JobResult>[] = [];
  for (const scheduler of [shared, split]) {
    const [a, b, c] = [{}, {}, {}];
    jobs.push(
      scheduler.final(a, slow, { deadline: due(FINAL_MS) }),
      scheduler.final(b, slow, { deadline: due(FINAL_MS) }),
      scheduler.partial(c, quick, due(PARTIAL_MS)),
    );
  }
  t.same(
    shared.stats,
    { running: 1, queuedFinals: 1, queuedPartials: 1, queuedUploads: 0 },
    'one shared slot: everything else waits',
  );
  t.same(
    split.stats,
    { running: 3, queuedFinals: 0, queuedPartials: 0, queuedUploads: 0 },
    'two final slots and a partial slot: all three run',
  );
  await Promise.all(jobs);
});

t.test('scheduler: a final can be withdrawn while queued or while running', async (t) => {
  const scheduler = new TranscriptionScheduler(await withPool(t, 1), { slots: 1, uploads: 1 });
  const a = {};
  const b = {};
  const running = new AbortController();
  const queued = new AbortController();
  const first = scheduler.final(a, slow, { deadline: due(FINAL_MS), signal: running.signal });
  const second = scheduler.final(b, quick, { deadline: due(FINAL_MS), signal: queued.signal });
  queued.abort();
  t.equal(await second, null, 'a queued final leaves the queue');
  t.same(scheduler.stats, { running: 1, queuedFinals: 0, queuedPartials: 0, queuedUploads: 0 });
  running.abort();
  t.equal(await first, null, 'a running final is aborted');
  t.same(scheduler.stats, { running: 0, queuedFinals: 0, queuedPartials: 0, queuedUploads: 0 });
});
