// Accuracy run (a): each clip transcribed whole by the engine, as a file upload would be.
import { WhisperModel, type TranscribeOptions } from '../../engine/index.js';
import type { Clip } from './accuracy-clips.js';

export const OFFLINE_OPTIONS = {
  language: 'en',
  beamSize: 3,
  temperatureFallback: false,
} as const satisfies TranscribeOptions;
const BEAMS = OFFLINE_OPTIONS.beamSize;
export const OFFLINE_DECODE = `whole file, beam search with ${BEAMS} beams, no temperature fallback, language en`;

/** The text of each clip, in order (the engine is deterministic, so one state serves them all). */
export async function offlineTranscripts(modelPath: string, clips: readonly Clip[]): Promise<string[]> {
  const model = new WhisperModel(modelPath);
  try {
    const texts: string[] = [];
    for (const clip of clips) texts.push((await model.transcribe(clip.pcm, OFFLINE_OPTIONS)).text);
    return texts;
  } finally {
    model.free();
  }
}
