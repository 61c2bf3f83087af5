/**
 * How `npm test` (test/run-suite.ts) shares the cores among test files, by path under dist/test. A file not listed
 * here, a new one too, runs alone: the safe default for a test whose server keeps both cores busy or whose checks
 * need spare CPU (admission under load, latency, a cluster of processes).
 */

/** Files that mostly wait (on child processes, timeouts, sockets) or compute little: LIGHT_JOBS at a time. */
export const LIGHT_FILES: readonly string[] = [
  'unit/audio-codecs.test.js',
  'unit/config.test.js',
  'unit/drop-in-adapters.test.js',
  'unit/english-normalizer.test.js',
  'unit/error-tables.test.js',
  'unit/inbound-budget.test.js',
  'unit/input-bounds.test.js',
  'unit/load-and-scheduling.test.js',
  'unit/openai-realtime-adapter.test.js',
  'unit/real-models.test.js',
  'unit/resampler.test.js',
  'unit/segments.test.js',
  'unit/session-checkpoint.test.js',
  'unit/session-core.test.js',
  'unit/socketio-transport.test.js',
  'unit/temporary-tokens.test.js',
  'unit/waits.test.js',
  'unit/wer.test.js',
  'client-urls.test.js',
  'deploy-docs.test.js',
  'engine-library.test.js',
  'fetch-model.test.js',
  'redis-session-store.test.js',
  'server-startup.test.js',
  'session-protocol.test.js',
  'session-store-config.test.js',
  'suite-hygiene.test.js',
];

export const LIGHT_JOBS = 4;

/**
 * Files whose servers work in bursts (a stream at real-time pace, a few transcriptions at a time) and that check
 * outcomes, not timing: PAIRED_JOBS at a time keep both cores busy without one starving the others for long. What
 * is left to run alone: the rolling restart of a three-instance cluster, admission under load, the victims of the
 * attacks, and the tests that expect partials within a short stretch of speech (metrics at 4x, `end` after 1.5 s of
 * audio).
 */
export const PAIRED_JOBS = 3;
export const PAIRED_FILES: readonly string[] = [
  'assemblyai.test.js',
  'bench-accuracy.test.js',
  'browser-demo.test.js',
  'cli-errors.test.js',
  'cli.test.js',
  'client-errors.test.js',
  'client-resume.test.js',
  'cluster-auth.test.js',
  'cluster-store-outage.test.js',
  'compatibility-tables.test.js',
  'deepgram.test.js',
  'engine-determinism.test.js',
  'engine-errors.test.js',
  'engine-threads.test.js',
  'engine-transcribe.test.js',
  'engine-vad.test.js',
  'examples.test.js',
  'final-contract.test.js',
  'first-run.test.js',
  'forwarding.test.js',
  'input-bounds.test.js',
  'openai-files.test.js',
  'openai-realtime.test.js',
  'openai-transcriptions.test.js',
  'resume-abuse.test.js',
  'resume-backlog.test.js',
  'socketio.test.js',
  'speech-endpoint.test.js',
  'stream-auth.test.js',
  'stream-http.test.js',
  'stream-language.test.js',
  'stream-limits.test.js',
  'stream-replay.test.js',
  'stream-resume.test.js',
  'stream-speech.test.js',
  'stream-units.test.js',
  'synthetic-model.test.js',
  'temporary-tokens.test.js',
  'upload-formats.test.js',
  'upload-robustness.test.js',
  'worker-faults.test.js',
];
