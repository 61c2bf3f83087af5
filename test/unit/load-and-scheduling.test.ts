// The load controller on a clock the test moves, and the scheduler over a runner the test drives: degradation kicking
// in and out, finals taking a partial's slot, partials taking turns, uploads after live work.
import t from 'tap';
import { LoadController, NARROW_BELOW, TranscriptionScheduler, WIDEN_ABOVE, type JobResult, type TranscriptionTask } from '../../engine/pipeline/index.js';
import { ManualRunner, outcome, settle } from '../helpers/pipeline-fakes.js';

t.test('the partial interval widens under load, stops admitting at its widest, and narrows back when load falls', async (t) => {
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
  t.ok(intervals.every((ms, i) => i === 0 || ms >= (intervals[i - 1] as number)), `the interval only widens: ${intervals.join(', ')}`);
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
});

const task = (kind: 'partial' | 'final'): TranscriptionTask => ({ kind, pcm: new Int16Array(16000), options: {} });

t.test('scheduler: a final takes the slot of the newest running partial, which goes back to the head of the line', async (t) => {
  const runner = new ManualRunner();
  const scheduler = new TranscriptionScheduler(runner, { slots: 1, uploads: 1 });
  const [a, b, c] = [{}, {}, {}];
  const done: string[] = [];
  const track = (tag: string, job: Promise<JobResult>): void => void job.then((r) => done.push(r ? tag : `${tag}:null`));
  track('a-partial', scheduler.partial(a, () => task('partial')));
  track('b-partial', scheduler.partial(b, () => task('partial')));
  const running = await runner.next();
  t.equal(running?.task.kind, 'partial');
  track('c-final', scheduler.final(c, () => task('final')));
  await settle();
  t.ok(running?.signal.aborted, "a's running partial was preempted for the final");
  running?.resolve(outcome([['late', 0]]));
  const final = await runner.next();
  t.equal(final?.task.kind, 'final', 'the final runs next');
  final?.resolve(outcome([['final', 0]]));
  const again = await runner.next();
  again?.resolve(outcome([['a', 0]]));
  const other = await runner.next();
  other?.resolve(outcome([['b', 0]]));
  await settle();
  t.same(done, ['c-final', 'a-partial', 'b-partial'], "the preempted partial ran again before b's: its turn was kept");
});

t.test('scheduler: a preempted partial whose utterance ended meanwhile resolves with null when its turn comes', async (t) => {
  const runner = new ManualRunner();
  const scheduler = new TranscriptionScheduler(runner, { slots: 1, uploads: 1 });
  const [a, c] = [{}, {}];
  let utteranceOpen = true;
  const partial = scheduler.partial(a, () => (utteranceOpen ? task('partial') : null));
  const running = await runner.next();
  const final = scheduler.final(c, () => task('final'));
  await settle();
  t.ok(running?.signal.aborted, 'preempted for the final');
  utteranceOpen = false;
  (await runner.next())?.resolve(outcome([['final', 0]]));
  t.not(await final, null, 'the final ran');
  t.equal(await partial, null, 'the partial had nothing left to do');
  t.equal(await runner.next(), undefined, 'and nothing else runs');
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
  void scheduler.final(live, () => task('final'));
  const liveFinal = await runner.next();
  t.equal(liveFinal?.task.kind, 'final', 'a live final takes the free slot ahead of the waiting upload');
  void scheduler.partial(live, () => task('partial'));
  first?.resolve(outcome([['file', 0]]));
  const next = await runner.next();
  t.equal(next?.task.kind, 'partial', "a live partial goes before the waiting upload, even beside its owner's final");
  t.equal(await runner.next(), undefined, 'both slots busy');
  next?.resolve(outcome([['p', 0]]));
  const second = await runner.next();
  t.ok(second && scheduler.stats.queuedUploads === 0, 'the second upload runs once no live work waits');
  t.same(scheduler.stats, { running: 2, queuedFinals: 0, queuedPartials: 0, queuedUploads: 0 });
});
