import t from 'tap';
import { Worker } from 'node:worker_threads';
import { WhisperModel, native } from '../engine/index.js';
import { QUICK, TINY_EN, speech } from './helpers/engine-fixtures.js';

interface Done {
  text: string;
  tokens: number[];
}

const jfk = speech('jfk.wav');
const OPTIONS = { ...QUICK, threads: 1 };

function startWorker(audio: Int16Array): { loaded: Promise<number>; run: () => Promise<Done> } {
  const worker = new Worker(new URL('./helpers/transcribe-worker.js', import.meta.url), {
    workerData: { modelPath: TINY_EN, audio, options: OPTIONS },
  });
  let onDone: (d: Done) => void = () => undefined;
  const done = new Promise<Done>((resolve, reject) => {
    onDone = resolve;
    worker.once('error', reject);
  });
  const loaded = new Promise<number>((resolve, reject) => {
    worker.on('message', (m: { type: string; modelsLoaded?: number } & Done) => {
      if (m.type === 'loaded') resolve(m.modelsLoaded ?? -1);
      else onDone(m);
    });
    worker.once('error', reject);
  });
  return {
    loaded,
    run: async () => {
      worker.postMessage('go');
      const result = await done;
      await worker.terminate();
      return result;
    },
  };
}

t.test('two worker threads transcribe at once over one copy of the weights', async (t) => {
  const a = jfk.subarray(0, 16000 * 4);
  const b = jfk.subarray(16000 * 5, 16000 * 9);

  const reference = new WhisperModel(TINY_EN);
  const sequentialA = await reference.transcribe(a, OPTIONS);
  const sequentialB = await reference.transcribe(b, OPTIONS);
  t.equal(native.loadedModelCount(), 1, 'one weight set loaded');

  const workers = [startWorker(a), startWorker(b)];
  const counts = await Promise.all(workers.map((w) => w.loaded));
  t.same(counts, [1, 1], 'the workers found the weights already loaded instead of loading their own');
  const [parallelA, parallelB] = await Promise.all(workers.map((w) => w.run()));
  t.equal(native.loadedModelCount(), 1, 'still one weight set');

  const ids = (r: { segments: { tokens: { id: number }[] }[] }): number[] =>
    r.segments.flatMap((s) => s.tokens.map((x) => x.id));
  t.equal(parallelA?.text, sequentialA.text, 'worker A matches the sequential run');
  t.same(parallelA?.tokens, ids(sequentialA));
  t.equal(parallelB?.text, sequentialB.text, 'worker B matches the sequential run');
  t.same(parallelB?.tokens, ids(sequentialB));

  reference.free();
  t.equal(native.loadedModelCount(), 0, 'weights released with the last instance');
});
