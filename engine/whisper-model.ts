import { basename } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { commandLine } from './commands.js';
import { native, type NativeWhisperModel } from './native.js';
import { resolveModelPath } from './models/model-path.js';
import type {
  DetectLanguageOptions,
  LanguageDetection,
  ModelInfo,
  ModelLoadOptions,
  Pcm,
  TranscribeOptions,
  TranscriptionResult,
} from './types.js';

let warnedSynthetic = false;

/** A process warning (once; `--no-warnings` silences it) that the default model is the synthetic stand-in. */
function warnSynthetic(path: string): void {
  if (warnedSynthetic || !isMainThread) return;
  warnedSynthetic = true;
  const fetch = commandLine('modelsFetch', 'tiny.en');
  const message = `${basename(path)} is the synthetic stand-in model: its transcripts are nonsense.`;
  process.emitWarning(`${message} ${fetch} downloads the real one.`, { code: 'WHISPER_STREAM_SYNTHETIC_MODEL' });
}

/**
 * A Whisper model with an inference state of its own. Weights are loaded once per process and shared by every
 * instance (in any worker thread) that names the same file, so one instance per thread costs only its state.
 * Calls on one instance run one at a time, in order; use one instance per thread for parallel work.
 */
export class WhisperModel {
  readonly path: string;
  private readonly model: NativeWhisperModel;
  private tail: Promise<unknown> = Promise.resolve();

  /** Loads `path`, or the model `resolveModelPath()` picks when it is omitted. Throws with `code` on failure. */
  constructor(path?: string, options: ModelLoadOptions = {}) {
    const resolved = resolveModelPath(path);
    this.path = resolved.path;
    this.model = new native.WhisperModel(this.path, options);
    // Picked from models/ rather than named by the caller: say once that its text is nonsense.
    if (resolved.synthetic && resolved.source === 'project') warnSynthetic(this.path);
  }

  /** Transcribes 16 kHz mono PCM off the JavaScript thread. */
  transcribe(audio: Pcm, options: TranscribeOptions = {}): Promise<TranscriptionResult> {
    return this.serialize(() => this.model.transcribe(audio, options));
  }

  /**
   * Transcribes on the calling thread, for code already off the main thread (a worker). Storing a non-zero value in
   * `abortFlag[0]` (an Int32Array over a SharedArrayBuffer) from another thread stops it with code `ABORTED`.
   */
  transcribeSync(audio: Pcm, options: TranscribeOptions = {}, abortFlag?: Int32Array): TranscriptionResult {
    return this.model.transcribeSync(audio, options, abortFlag);
  }

  /** Language probabilities for the audio (multilingual models only). */
  detectLanguage(audio: Pcm, options: DetectLanguageOptions = {}): Promise<LanguageDetection> {
    return this.serialize(() => this.model.detectLanguage(audio, options));
  }

  /**
   * Stops the running call at its next check; its promise rejects with code `ABORTED`. Returns whether one was running.
   */
  abort(): boolean {
    return this.model.abort();
  }

  /** Releases this instance's state (and the weights when no other instance uses them). Later calls throw `FREED`. */
  free(): void {
    this.model.free();
  }

  info(): ModelInfo {
    return this.model.info();
  }

  // The addon refuses a second job on a busy state; queueing here keeps callers from having to care.
  private serialize<T>(run: () => Promise<T>): Promise<T> {
    const turn = this.tail.then(run, run);
    this.tail = turn.catch(() => undefined);
    return turn;
  }
}
