/**
 * Transcribes audio of any length as Whisper reads it, in windows of at most 30 s, each its own transcription: a file
 * upload is a run of short jobs rather than one long one, so live sessions' work goes between them. Like whisper.cpp's
 * own seek, a window's last segment, which the window's end may have cut, is read again at the start of the next.
 */
import type { TranscribeOptions } from '../types.js';
import { SAMPLE_RATE, samplesToMs, type OutcomeSegment, type TranscriptionOutcome } from './types.js';

/** Whisper's window. */
export const WINDOW_SAMPLES = 30 * SAMPLE_RATE;
/** A window ends no sooner than this after it starts, whatever its segments say, so every window makes progress. */
const MIN_ADVANCE_SAMPLES = 5 * SAMPLE_RATE;

export interface LongAudioOptions {
  language: string;
  beamSize: number;
  threads: number;
  /** The client's prompt, before the first window; later windows are prompted with the text before them. */
  prompt: string;
  /** Whisper's translate task: English text whatever the language spoken (multilingual models only). */
  translate?: boolean;
}

/** Runs one window's transcription; null when it was withdrawn (the client went away). */
export type WindowRunner = (pcm: Int16Array, options: TranscribeOptions) => Promise<TranscriptionOutcome | null>;

/**
 * The whole transcription with segments in the audio's time, or null when a window was withdrawn. `onWindow` sees each
 * window's new segments as they come.
 */
export async function transcribeLong(
  pcm: Int16Array,
  options: LongAudioOptions,
  run: WindowRunner,
  onWindow?: (segments: OutcomeSegment[]) => void,
): Promise<TranscriptionOutcome | null> {
  const segments: OutcomeSegment[] = [];
  let language = options.language;
  const timings = { encodeMs: 0, decodeMs: 0, totalMs: 0 };
  for (let from = 0; from < pcm.length; ) {
    const to = Math.min(pcm.length, from + WINDOW_SAMPLES);
    const last = to === pcm.length;
    const before = segments
      .map((s) => s.text)
      .join('')
      .trim();
    const prompt = [options.prompt, before].filter((p) => p !== '').join(' ');
    const outcome = await run(pcm.slice(from, to), {
      language,
      beamSize: options.beamSize,
      threads: options.threads,
      temperatureFallback: false,
      ...(prompt ? { prompt } : {}),
      ...(options.translate ? { translate: true } : {}),
    });
    if (!outcome) return null;
    language = outcome.language;
    timings.encodeMs += outcome.timings.encodeMs;
    timings.decodeMs += outcome.timings.decodeMs;
    timings.totalMs += outcome.timings.totalMs;
    let kept = outcome.segments;
    let next = to;
    if (!last && kept.length >= 2) {
      const cut = kept[kept.length - 1] as OutcomeSegment;
      const restart = from + Math.round((cut.startMs / 1000) * SAMPLE_RATE);
      if (restart >= from + MIN_ADVANCE_SAMPLES) {
        kept = kept.slice(0, -1);
        next = restart;
      }
    }
    const offsetMs = samplesToMs(from);
    const shifted = kept.map((s) => ({
      ...s,
      startMs: s.startMs + offsetMs,
      endMs: s.endMs + offsetMs,
      tokens: s.tokens.map((t) => (t.timeMs === undefined ? t : { ...t, timeMs: t.timeMs + offsetMs })),
    }));
    segments.push(...shifted);
    onWindow?.(shifted);
    from = next;
  }
  return {
    text: segments
      .map((s) => s.text)
      .join('')
      .trim(),
    language,
    segments,
    timings,
  };
}
