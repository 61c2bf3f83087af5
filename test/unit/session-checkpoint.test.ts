// Checkpoints of the session core: where a session can be restored from, and a restored session carrying on from one
// (its audio time, seq, segment ids and prompt continue). Scripted detector and runner, no addon.
import t from 'tap';
import {
  LanguagePolicy,
  PRE_PAD_MS,
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
  silence,
  TEST_SETTINGS,
} from '../helpers/pipeline-fakes.js';

const SETTINGS: StreamSettings = { ...TEST_SETTINGS, partials: false, earlyFinals: false };
const PRE_PAD = PRE_PAD_MS * 16;

function rig(restore?: { checkpoint: SessionCheckpoint; nextSeq: number }): {
  session: StreamSession;
  runner: ManualRunner;
  transcripts: TranscriptEvent[];
  checkpoints: SessionCheckpoint[];
} {
  const runner = new ManualRunner();
  const session = new StreamSession({
    scheduler: new TranscriptionScheduler(runner, { slots: 1, uploads: 1 }),
    // Speech in windows 10 to 59 of this session's audio.
    detector: new ScriptedDetector((w) => (w >= 10 && w < 60 ? 0.9 : 0.02)),
    languages: new LanguagePolicy(['en', 'de'], true),
    defaultLanguage: 'en',
    settings: SETTINGS,
    restore,
  });
  const transcripts: TranscriptEvent[] = [];
  const checkpoints: SessionCheckpoint[] = [];
  // As the hosted session does: the checkpoint taken as each transcript leaves.
  session.on('transcript', (event) => {
    transcripts.push(event);
    checkpoints.push(session.checkpoint());
  });
  return { session, runner, transcripts, checkpoints };
}

async function feed(session: StreamSession, ms: number): Promise<void> {
  for (let i = 0; i < ms / 20; i++) {
    session.pushAudio(silence(20));
    await settle();
  }
}

t.test('the checkpoint stays at the start of an utterance until its final is out, then moves past it', async (t) => {
  const { session, runner, transcripts, checkpoints } = rig();
  await feed(session, 200);
  t.equal(
    session.checkpoint().audioSample,
    200 * 16 - PRE_PAD,
    'in silence: the newest audio less the lead-in speech may need',
  );
  await feed(session, 1000);
  t.match(
    session.checkpoint(),
    { audioSample: 10 * WINDOW - PRE_PAD, nextSegmentId: 0 },
    'an utterance is open: its start',
  );
  await feed(session, 1400);
  const final = await runner.next();
  t.equal(final?.task.kind, 'final', 'the utterance ended and its final runs');
  t.match(
    session.checkpoint(),
    { audioSample: 10 * WINDOW - PRE_PAD, nextSegmentId: 0 },
    'while its final runs: still its start',
  );
  final?.resolve(outcome([['Hello.', 0]]));
  await settle();
  t.equal(transcripts.length, 1);
  const after = checkpoints[0];
  t.ok(
    (after?.audioSample ?? 0) >= (transcripts[0]?.endMs ?? Infinity) * 16,
    'as the final leaves, the checkpoint is past its end',
  );
  t.match(after, { nextSegmentId: 1, previousFinal: 'Hello.', requestedLanguage: 'en', endSilenceMs: 400 });
  t.equal((after?.audioSample ?? 1) % 16, 0, 'a whole millisecond');
  session.close();
});

t.test(
  'a session restored from a checkpoint carries on: audio time, seq, segment ids, prompt and settings',
  async (t) => {
    const checkpoint: SessionCheckpoint = {
      audioSample: 48000,
      nextSegmentId: 5,
      turnId: 3,
      turnSent: false,
      previousFinal: 'Earlier words.',
      requestedLanguage: 'de',
      detectedLanguage: null,
      hint: 'Vocabulary',
      endSilenceMs: 600,
    };
    const { session, runner, transcripts, checkpoints } = rig({ checkpoint, nextSeq: 12 });
    t.equal(session.samplesReceived, 48000, 'it has the audio before the checkpoint');
    t.equal(session.nextSeq, 12);
    t.match(session.checkpoint(), { ...checkpoint, audioSample: 48000 }, 'its checkpoint is the one it came from');
    await feed(session, 3000);
    t.equal(session.samplesReceived, 48000 + 3000 * 16);
    const final = await runner.next();
    t.match(
      final?.task.options,
      { language: 'de', prompt: 'Vocabulary Earlier words.' },
      'the final is prompted as it would have been',
    );
    final?.resolve(outcome([['Weiter.', 0]], 'de'));
    await settle();
    t.match(transcripts, [
      {
        seq: 12,
        segmentId: 5,
        turnId: 3,
        isFinal: true,
        endOfSpeech: true,
        text: 'Weiter.',
        startMs: 3000 + (10 * WINDOW - PRE_PAD) / 16,
      },
    ]);
    t.ok(
      (transcripts[0]?.endMs ?? 0) > 3000 + (60 * WINDOW) / 16,
      'its end counts in session time too, after 600 ms of endpointing',
    );
    t.match(checkpoints[0], {
      nextSegmentId: 6,
      turnId: 4,
      turnSent: false,
      previousFinal: 'Weiter.',
      requestedLanguage: 'de',
      hint: 'Vocabulary',
      endSilenceMs: 600,
    });
    session.close();
  },
);
