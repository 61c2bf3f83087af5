// The accuracy corpus: the speech clips in fixtures/speech that have a reference transcript beside them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir, readWav16kMono } from '../../engine/index.js';

export const SPEECH_DIR: string = join(fixturesDir, 'speech');

/** Each clip's name (its .wav and .txt in SPEECH_DIR) and where it comes from (see NOTICE). */
const SOURCES: Readonly<Record<string, string>> = {
  jfk: "JFK's inaugural address",
  '6930-75918-0000': 'LibriSpeech test-clean',
  '7902-96591-0000': 'LibriSpeech test-other',
};
export const CLIP_NAMES: readonly string[] = Object.keys(SOURCES);

export interface Clip {
  name: string;
  source: string;
  /** 16 kHz mono samples. */
  pcm: Int16Array;
  seconds: number;
  /** The transcript as the corpus gives it (LibriSpeech: upper case, no punctuation). */
  reference: string;
}

/** Reads the clips named; each must be one of CLIP_NAMES. */
export function loadClips(names: readonly string[]): Clip[] {
  return names.map((name) => {
    const source = SOURCES[name];
    if (source === undefined) throw new Error(`unknown clip ${name}; the clips are ${CLIP_NAMES.join(', ')}`);
    const pcm = readWav16kMono(join(SPEECH_DIR, `${name}.wav`));
    const reference = readFileSync(join(SPEECH_DIR, `${name}.txt`), 'utf8').trim();
    return { name, source, pcm, seconds: pcm.length / 16000, reference };
  });
}
