// Accuracy run (a): each clip transcribed whole by the engine, as a file upload would be.
import { WhisperModel, type TranscribeOptions } from '../../engine/index.js';
import type { Clip } from './accuracy-clips.js';

export const OFFLINE_OPTIONS = { language: 'en', beamSize: 3, temperatureFallback: false } as const satisfies TranscribeOptions;
export const OFFLINE_DECODE = `whole file, beam search with ${OFFLINE_OPTIONS.beamSize} beams, no temperature fallback, language en`;

/** The text of each clip, in order. */
export async function offlineTranscripts(modelPath: string, clips: readonly Clip[]): Promise<string[]> {
  const texts: string[] = [];
  for (const clip of clips) {
    // A fresh state per clip (the weights are shared, so this is cheap): with beam search, whisper.cpp 1.9 gives a
    // different text for a short clip on a state that has just decoded a longer one, and a clip's score must not
    // depend on the clips before it.
    const model = new WhisperModel(modelPath);
    try {
      texts.push((await model.transcribe(clip.pcm, OFFLINE_OPTIONS)).text);
    } finally {
      model.free();
    }
  }
  return texts;
}
