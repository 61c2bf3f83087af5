// The load controller on a clock the test moves, and the scheduler over a runner the test drives, on a clock of its
// own: degradation kicking in and out, earliest deadline first, a final due first taking a partial's slot, an owner
// that asks for more than its share waiting behind the others, uploads after live work, deadlines missed.
import t from 'tap';
import {
  LoadController,
  NARROW_BELOW,
  TranscriptionScheduler,
  WIDEN_ABOVE,
  type JobClass,
  type JobEnd,
  type JobResult,
  type TranscriptionTask,
} from '../../engine/pipeline/index.js';
import { ManualRunner, outcome, settle } from '../helpers/pipeline-fakes.js';

t.test(
  'the partial interval widens under load, stops admitting at its widest, and narrows back when load falls',
  async (t) => {
    let now = 0;
    const load = new LoadController({ baseIntervalMs: 400, maxIntervalMs: 1200, capacity: 1, now: () => now });
    // Partials cost 300 ms of worker time each.
    const partial = (): void => {
      load.started('partial');
      now += 0;
      load.finished('partial', 300, true);
    };
    for (let i = 0; i < 20; i++) partial();
    t.equal(load.partialIntervalMs, 400);
    t.ok(load.admitting);

    // Four speaking sessions want 4 × 300 ms per 400 ms: three times what one worker does.
    const intervals: number[] = [];
    for (let second = 0; second < 8; second++) {
      now += 1000;
      intervals.push(load.update(4).partialIntervalMs);
    }
    t.ok(load.snapshot.load > WIDEN_ABOVE, `load ${load.snapshot.load.toFixed(2)} is above ${WIDEN_ABOVE}`);
    t.ok(
      intervals.every((ms, i) => i === 0 || ms >= (intervals[i - 1] as number)),
      `the interval only widens: ${intervals.join(', ')}`,
    );
    t.equal(load.partialIntervalMs, 1200, 'up to the maximum');
    t.notOk(load.admitting, 'demand above capacity at the widest interval: no new sessions');

    // A final keeps the worker busy for 500 ms of each second as well: still overloaded.
    now += 1000;
    load.started('final');
    now += 500;
    load.finished('final', 500, true);
    now += 500;
    load.update(4);
    t.notOk(load.admitting);

    // Everyone stops speaking.
    const narrowing: number[] = [];
    for (let second = 0; second < 12; second++) {
      now += 1000;
      narrowing.push(load.update(0).partialIntervalMs);
    }
    t.ok(load.snapshot.load < NARROW_BELOW);
    t.equal(load.partialIntervalMs, 400, `back to the configured interval: ${narrowing.join(', ')}`);
    t.ok(load.admitting, 'and admitting again');
  },
);

t.test(
  'a final past its deadline widens the partial interval at once, and late finals at the widest stop admissions',
  async (t) => {
    let now = 0;
    const load = new LoadController({ baseIntervalMs: 400, maxIntervalMs: 1200, capacity: 2, now: () => now });
    // Light load: nothing would widen the interval...
    load.started('final');
    now += 100;
    load.finished('final', 100, true, 250);
    now += 900;
    t.equal(load.update(1).partialIntervalMs, 500, '...but the late final does');
    now += 1000;
    t.equal(load.update(1).partialIntervalMs, 400, 'and with finals in time again it narrows back');
    for (let second = 0; second < 8; second++) {
      load.started('final');
      now += 100;
      load.finished('final', 100, true, 500);
      now += 900;
      load.update(1);
    }
    t.equal(load.partialIntervalMs, 1200);
    t.notOk(load.admitting, 'finals late at the widest interval: no new sessions');
    now += 1000;
    load.update(1);
    t.ok(load.admitting, 'in time again: admitting');
  },
);

const task = (kind: 'partial' | 'final'): TranscriptionTask => ({ kind, pcm: new Int16Array(16000), options: {} });

/** A scheduler over a runner the test drives, on a clock the test moves; `finished` records what ran and how. */
function rig(slots: number): {
  scheduler: TranscriptionScheduler;
  runner: ManualRunner;
  clock: { now: number };
  finished: { kind: JobClass; end: JobEnd; overdueMs: number }[];
} {
  const runner = new ManualRunner();
  const clock = { now: 0 };
  const finished: { kind: JobClass; end: JobEnd; overdueMs: number }[] = [];
  const observer = {
    started: () => undefined,
    finished: (kind: JobClass, _ms: number, end: JobEnd, overdueMs: number) => finished.push({ kind, end, overdueMs }),
  };
  const scheduler = new TranscriptionScheduler(runner, { slots, uploads: 1 }, [observer], () => clock.now);
  return { scheduler, runner, clock, finished };
}

t.test('scheduler: the runnable job due first starts first, whatever its kind or when it was asked for', async (t) => {
  const { scheduler, runner } = rig(1);
  const [a, b, c, d] = [{}, {}, {}, {}];
  const done: string[] = [];
  const track = (tag: string, job: Promise<JobResult>): void =>
    void job.then((r) => done.push(r ? tag : `${tag}:null`));
  track(
    'blocker',
    scheduler.final(d, () => task('final'), { deadline: 0 }),
  );
  const blocker = await runner.next();
  track(
    'a-final',
    scheduler.final(a, () => task('final'), { deadline: 3000 }),
  );
  track(
    'b-partial',
    scheduler.partial(b, () => task('partial'), 1000),
  );
  track(
    'c-final',
    scheduler.final(c, () => task('final'), { deadline: 2000 }),
  );
  blocker?.resolve(outcome([['x', 0]]));
  for (let i = 0; i < 3; i++) (await runner.next())?.resolve(outcome([['x', 0]]));
  await settle();
  t.same(
    done,
    ['blocker', 'b-partial', 'c-final', 'a-final'],
    'by deadline: the partial due in 1 s, then the finals due in 2 s and 3 s',
  );
});

t.test(
  'scheduler: a final due before a running partial takes its slot; the partial runs again with its deadline',
  async (t) => {
    const { scheduler, runner } = rig(1);
    const [a, b, c] = [{}, {}, {}];
    const done: string[] = [];
    const track = (tag: string, job: Promise<JobResult>): void =>
      void job.then((r) => done.push(r ? tag : `${tag}:null`));
    track(
      'a-partial',
      scheduler.partial(a, () => task('partial'), 1000),
    );
    track(
      'b-partial',
      scheduler.partial(b, () => task('partial'), 1100),
    );
    const running = await runner.next();
    t.equal(running?.task.kind, 'partial');
    track(
      'c-late-final',
      scheduler.final(c, () => task('final'), { deadline: 5000 }),
    );
    await settle();
    t.notOk(running?.signal.aborted, 'a final due after the running partial waits for a slot');
    track(
      'c-final',
      scheduler.final(c, () => task('final'), { deadline: 500 }),
    );
    await settle();
    t.notOk(running?.signal.aborted, "the owner's second final waits for its first, so it preempts nothing");
    running?.resolve(outcome([['a', 0]]));
    for (let i = 0; i < 3; i++) (await runner.next())?.resolve(outcome([['x', 0]]));
    await settle();
    t.same(
      done,
      ['a-partial', 'b-partial', 'c-late-final', 'c-final'],
      'then by deadline, finals of one owner in order',
    );

    const { scheduler: s2, runner: r2 } = rig(1);
    const order: string[] = [];
    void s2.partial(a, () => task('partial'), 1000).then((r) => order.push(r ? 'partial' : 'partial:null'));
    const partial = await r2.next();
    void s2.final(c, () => task('final'), { deadline: 500 }).then(() => order.push('final'));
    await settle();
    t.ok(partial?.signal.aborted, 'a final due first preempts the running partial');
    partial?.resolve(outcome([['late', 0]]));
    (await r2.next())?.resolve(outcome([['final', 0]]));
    const again = await r2.next();
    t.equal(again?.task.kind, 'partial', 'the preempted partial runs again');
    again?.resolve(outcome([['a', 0]]));
    await settle();
    t.same(order, ['final', 'partial']);
  },
);

t.test(
  'scheduler: a preempted partial whose segment ended meanwhile resolves with null when its turn comes',
  async (t) => {
    const { scheduler, runner } = rig(1);
    const [a, c] = [{}, {}];
    let segmentOpen = true;
    const partial = scheduler.partial(a, () => (segmentOpen ? task('partial') : null), 1000);
    const running = await runner.next();
    const final = scheduler.final(c, () => task('final'), { deadline: 0 });
    await settle();
    t.ok(running?.signal.aborted, 'preempted for the final');
    segmentOpen = false;
    (await runner.next())?.resolve(outcome([['final', 0]]));
    t.not(await final, null, 'the final ran');
    t.equal(await partial, null, 'the partial had nothing left to do');
    t.equal(await runner.next(), undefined, 'and nothing else runs');
  },
);

t.test('scheduler: an owner that used more than its share of the workers waits behind the others', async (t) => {
  const { scheduler, runner, clock } = rig(1);
  const [flooder, victim] = [{}, {}];
  // The flooder's finals kept the only worker busy for the last 20 s.
  for (let i = 0; i < 20; i++) {
    void scheduler.final(flooder, () => task('final'), { deadline: clock.now + 2000 });
    const call = await runner.next();
    clock.now += 1000;
    call?.resolve(outcome([['flood', 0]]));
    await settle();
  }
  const order: string[] = [];
  void scheduler.final(victim, () => task('final'), { deadline: clock.now + 5000 }).then(() => order.push('victim'));
  const blocker = await runner.next();
  void scheduler.final(flooder, () => task('final'), { deadline: clock.now + 2000 }).then(() => order.push('flooder'));
  void scheduler.partial(victim, () => task('partial'), clock.now + 4000).then(() => order.push('victim-partial'));
  blocker?.resolve(outcome([['x', 0]]));
  for (let i = 0; i < 2; i++) (await runner.next())?.resolve(outcome([['x', 0]]));
  await settle();
  t.same(
    order,
    ['victim', 'victim-partial', 'flooder'],
    "the victim's partial, due after the flooder's final, still goes first",
  );
});

t.test('scheduler: a job that finishes after its deadline is reported overdue', async (t) => {
  const { scheduler, runner, clock, finished } = rig(1);
  void scheduler.final({}, () => task('final'), { deadline: 2000 });
  const call = await runner.next();
  clock.now = 2500;
  call?.resolve(outcome([['late', 0]]));
  void scheduler.partial({}, () => task('partial'), 3000);
  const partial = await runner.next();
  partial?.resolve(outcome([['in time', 0]]));
  await settle();
  t.same(finished, [
    { kind: 'final', end: 'done', overdueMs: 500 },
    { kind: 'partial', end: 'done', overdueMs: 0 },
  ]);
});

t.test('scheduler: uploads run only when no live work waits, at most `uploads` at a time', async (t) => {
  const runner = new ManualRunner();
  const scheduler = new TranscriptionScheduler(runner, { slots: 2, uploads: 1 });
  const [file1, file2, live] = [{}, {}, {}];
  void scheduler.upload(file1, () => task('final'));
  void scheduler.upload(file2, () => task('final'));
  const first = await runner.next();
  t.ok(first, 'an upload runs on an idle server');
  t.equal(await runner.next(), undefined, 'but only one at a time');
  void scheduler.final(live, () => task('final'), { deadline: performance.now() + 2000 });
  const liveFinal = await runner.next();
  t.equal(liveFinal?.task.kind, 'final', 'a live final takes the free slot ahead of the waiting upload');
  void scheduler.partial(live, () => task('partial'), performance.now() + 1000);
  first?.resolve(outcome([['file', 0]]));
  const next = await runner.next();
  t.equal(next?.task.kind, 'partial', "a live partial goes before the waiting upload, even beside its owner's final");
  t.equal(await runner.next(), undefined, 'both slots busy');
  next?.resolve(outcome([['p', 0]]));
  const second = await runner.next();
  t.ok(second && scheduler.stats.queuedUploads === 0, 'the second upload runs once no live work waits');
  t.same(scheduler.stats, { running: 2, queuedFinals: 0, queuedPartials: 0, queuedUploads: 0 });
});
