// The session core with its VAD and runner injected: a scripted detector and a runner the test drives, so each
// scenario (early finals, cuts, end, the committed window) plays out the same way every time, without the addon.
import t from 'tap';
import {
  LanguagePolicy,
  PARTIAL_OVERLAP_MS,
  POST_PAD_MS,
  SessionError,
  StreamSession,
  TranscriptionScheduler,
  type StreamSettings,
  type TranscriptEvent,
} from '../../engine/pipeline/index.js';
import {
  ManualRunner,
  ScriptedDetector,
  WINDOW,
  outcome,
  settle,
  silence,
  type Call,
  TEST_SETTINGS,
} from '../helpers/pipeline-fakes.js';

const SETTINGS = TEST_SETTINGS;

interface Rig {
  session: StreamSession;
  runner: ManualRunner;
  transcripts: TranscriptEvent[];
  /** Samples received when each runner call was made. */
  callAt: Map<Call, number>;
}

/** A session whose detector hears speech where `speech` says so (or the probability it gives). */
function rig(speech: (window: number) => boolean | number, settings: Partial<StreamSettings> = {}): Rig {
  const runner = new ManualRunner();
  const scheduler = new TranscriptionScheduler(runner, { slots: 1, uploads: 1 });
  const session = new StreamSession({
    scheduler,
    detector: new ScriptedDetector((w) => {
      const heard = speech(w);
      return typeof heard === 'number' ? heard : heard ? 0.9 : 0.02;
    }),
    languages: new LanguagePolicy(['en'], false),
    defaultLanguage: 'en',
    settings: { ...SETTINGS, ...settings },
  });
  const transcripts: TranscriptEvent[] = [];
  session.on('transcript', (event) => transcripts.push(event));
  return { session, runner, transcripts, callAt: new Map() };
}

/** Feeds `ms` of audio in 20 ms frames; after each, `onCall` sees every new runner call. */
async function feed(r: Rig, ms: number, onCall: (call: Call) => void = () => undefined): Promise<void> {
  for (let i = 0; i < ms / 20; i++) {
    r.session.pushAudio(silence(20));
    await settle();
    for (let call = r.runner.pending()[0]; call; call = r.runner.pending()[0]) {
      await r.runner.next();
      r.callAt.set(call, r.session.samplesReceived);
      onCall(call);
    }
  }
}

const answerPartials =
  (words: [string, number][] = [['hello', 0]]) =>
  (call: Call): void => {
    if (call.task.kind === 'partial') call.resolve(outcome(words));
  };

const finals = (r: Rig): Call[] => r.runner.calls.filter((c) => c.task.kind === 'final');

t.test('an early final starts at the pause and is adopted when the silence confirms the end', async (t) => {
  const r = rig((w) => w >= 10 && w < 60);
  await feed(r, 3000, answerPartials());
  const [early, ...others] = finals(r);
  t.ok(early, 'a final was asked for');
  t.same(others, [], 'only one: the end adopted it');
  const endSample = 60 * WINDOW + POST_PAD_MS * 16;
  const endOfUtterance = 60 * WINDOW + 13 * WINDOW;
  t.ok(
    (r.callAt.get(early as Call) ?? Infinity) < endOfUtterance,
    'it started before the end-of-speech silence was confirmed',
  );
  t.notOk(early?.signal.aborted, 'not withdrawn');
  early?.resolve(outcome([['Hello.', 0]]));
  await settle();
  const final = r.transcripts.find((m) => m.isFinal);
  t.match(final, { text: 'Hello.', endMs: endSample / 16, segmentId: 0 });
  t.equal(final?.startMs, (10 * WINDOW - 3200) / 16, 'starts at the first speech window less the 200 ms pre-pad');
  t.same(final?.tokens, [{ text: ' Hello.', p: 0.9 }], 'the final carries the tokens it was read from, with their p');
  t.ok(
    r.transcripts.filter((m) => !m.isFinal).every((m) => m.tokens === undefined),
    'partials carry none',
  );
});

t.test(
  'an early final is withdrawn when speech resumes, and the utterance gets one final at its real end',
  async (t) => {
    // A 256 ms pause: past half the 400 ms end-of-speech silence, where a pause starts an early final.
    const r = rig((w) => (w >= 10 && w < 60) || (w >= 68 && w < 100));
    await feed(r, 4000, answerPartials());
    const [early, real, ...more] = finals(r);
    t.ok(early?.signal.aborted, 'the early final was withdrawn when speech came back');
    t.ok(real, 'a second final for the whole utterance');
    t.same(more, []);
    t.equal(
      real?.task.pcm.length,
      100 * WINDOW + POST_PAD_MS * 16 - (10 * WINDOW - 3200),
      'it covers the utterance to its real end',
    );
    real?.resolve(
      outcome([
        ['One', 0],
        ['utterance.', 500],
      ]),
    );
    await settle();
    t.same(
      r.transcripts.filter((m) => m.isFinal).map((m) => [m.segmentId, m.text]),
      [[0, 'One utterance.']],
      'one final, no message from the withdrawn one',
    );
  },
);

t.test(
  'a forced cut while a partial runs aborts the partial and finalizes before the next segment speaks',
  async (t) => {
    // A dip (between the thresholds: still speech) centred on window 50 is the quietest point of the second half.
    const r = rig((w) => (w >= 49 && w <= 51 ? 0.4 : w >= 10), { maxUtteranceMs: 2000 });
    let held: Call | undefined;
    let heard = 0;
    await feed(r, 3000, (call) => {
      if (call.task.kind !== 'partial') return;
      // Keep the partial that runs when the cut comes; answer the others, with something new each time.
      if (!held && r.session.samplesReceived > 30000) held = call;
      else call.resolve(outcome([[`words${heard++}`, 0]]));
    });
    t.ok(held?.signal.aborted, 'the partial running at the cut was aborted');
    const [final] = finals(r);
    t.ok(final, 'the cut utterance gets its final');
    const cutSample = 50 * WINDOW + WINDOW / 2;
    t.equal(
      final?.task.pcm.length,
      cutSample - (10 * WINDOW - 3200),
      'cut at the quietest point of its second half, once it reached 2000 ms',
    );
    const beforeFinal = r.transcripts.length;
    final?.resolve(outcome([['Cut.', 0]]));
    await feed(r, 1000, answerPartials([['next', 0]]));
    const order = r.transcripts.map((m) => `${m.segmentId}${m.isFinal ? 'F' : 'p'}`);
    t.ok(
      order.slice(0, beforeFinal).every((m) => m.startsWith('0')),
      'nothing of segment 1 before segment 0 ends',
    );
    t.equal(order[beforeFinal], '0F', 'segment 0 ends with its final');
    t.ok(
      order.slice(beforeFinal + 1).some((m) => m === '1p'),
      'then segment 1 speaks',
    );
    t.equal(
      r.transcripts.find((m) => m.segmentId === 1)?.startMs,
      cutSample / 16,
      'segment 1 starts where segment 0 was cut',
    );
  },
);

t.test('end() while a final runs waits for it, refuses later audio, then resolves', async (t) => {
  const r = rig((w) => w >= 10 && w < 40);
  await feed(r, 2000, answerPartials());
  const [final] = finals(r);
  t.ok(final);
  let ended = false;
  const ending = r.session.end().then(() => (ended = true));
  await settle();
  t.notOk(ended, 'end waits for the running final');
  t.throws(() => r.session.pushAudio(silence(20)), SessionError, 'audio after end is refused');
  final?.resolve(outcome([['Done.', 0]]));
  await ending;
  t.ok(ended);
  t.match(r.transcripts.at(-1), { isFinal: true, text: 'Done.' });
});

t.test('partials commit agreed words and re-read only the tail after them, showing every word once', async (t) => {
  const r = rig((w) => w >= 10);
  // What each partial hears, with where each word begins in session time (ms); the speech starts at 120 ms.
  const answers: [string, number][][] = [
    [
      ['and', 170],
      ['so', 270],
      ['my', 420],
    ],
    [
      ['and', 170],
      ['so', 270],
      ['my', 420],
      ['fellow', 720],
    ],
    // The next window starts 200 ms before "fellow": it hears the end of "my" again.
    [
      ['my', 420],
      ['fellow', 720],
      ['americans', 1000],
    ],
    [
      ['fellow', 720],
      ['americans', 1000],
      ['ask', 1200],
    ],
    [
      ['ask', 1200],
      ['not', 1500],
    ],
  ];
  const partials: Call[] = [];
  await feed(r, 4000, (call) => {
    if (call.task.kind !== 'partial') return;
    const words = answers[partials.length];
    partials.push(call);
    const fromMs = ((r.callAt.get(call) ?? 0) - call.task.pcm.length) / 16;
    // Times in the window's own audio, as the engine gives them (a word begun before the window starts at its start).
    if (words) call.resolve(outcome(words.map(([word, ms]) => [word, Math.max(0, ms - fromMs)])));
  });
  t.ok(partials.length >= answers.length, `${partials.length} partials ran`);
  const shown = r.transcripts.filter((m) => !m.isFinal).map((m) => m.text);
  t.same(shown.slice(0, 5), [
    'and so my',
    'and so my fellow',
    'and so my fellow americans',
    'and so my fellow americans ask',
    'and so my fellow americans ask not',
  ]);
  const windowStart = (call: Call): number => (r.callAt.get(call) ?? 0) - call.task.pcm.length;
  const utteranceStart = 10 * WINDOW - 3200;
  t.equal(
    windowStart(partials[1] as Call),
    utteranceStart,
    'until words are committed, partials read the whole utterance',
  );
  t.equal((partials[2] as Call).task.options.prompt, 'and so my', 'then they are prompted with the committed words');
  t.equal(
    windowStart(partials[2] as Call),
    (720 - PARTIAL_OVERLAP_MS) * 16,
    'and read from one overlap before the first word not committed',
  );
  t.equal(
    windowStart(partials[4] as Call),
    (1200 - PARTIAL_OVERLAP_MS) * 16,
    'the window moves on as words are committed',
  );
  const stable = r.transcripts.filter((m) => !m.isFinal).map((m) => m.words.map((w) => w.text).join(' '));
  for (let i = 1; i < stable.length; i++)
    t.ok((stable[i] as string).startsWith(stable[i - 1] as string), 'committed words only grow');
  t.same(
    r.transcripts
      .filter((m) => !m.isFinal)
      .at(-1)
      ?.words.map((w) => [w.text, w.startMs]),
    [
      ['and', 170],
      ['so', 270],
      ['my', 420],
      ['fellow', 720],
      ['americans', 1000],
      ['ask', 1200],
    ],
  );
});
