import { parentPort, workerData } from 'node:worker_threads';
import { WhisperModel, native } from '../../engine/index.js';
import type { TranscribeOptions } from '../../engine/index.js';

// A worker thread for the concurrency test: its own WhisperModel over the process-wide weights.
const { modelPath, audio, options } = workerData as {
  modelPath: string;
  audio: Int16Array;
  options: TranscribeOptions;
};
const model = new WhisperModel(modelPath);
parentPort?.postMessage({ type: 'loaded', modelsLoaded: native.loadedModelCount() });
parentPort?.once('message', async () => {
  const result = await model.transcribe(audio, options);
  model.free();
  parentPort?.postMessage({
    type: 'done',
    text: result.text,
    tokens: result.segments.flatMap((s) => s.tokens.map((x) => x.id)),
  });
});
