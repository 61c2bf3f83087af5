/**
 * How many tokens a real Whisper model decodes per second of speech, from the reference transcripts of the corpus
 * (GPT-2 tokens, Whisper's tokenizer for English): benches run the synthetic model with that decode length
 * (EMULATE_TOKENS_PER_S), since its own random text ends at once or runs to the token cap.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from 'gpt-3-encoder';
import { fixturesDir } from '../../engine/index.js';
import type { SpeechClip } from './speech-timeline.js';

/** The rate for speech without a reference transcript. */
export const DEFAULT_TOKENS_PER_SECOND = 3.5;

export interface TokenRate {
  tokensPerSecond: number;
  /** Which clips the rate was measured on, with their own rates. */
  measuredOn: { clip: string; tokens: number; speechSeconds: number }[];
}

/** Tokens of the reference transcripts over the seconds of speech (VAD regions) in those clips. */
export function realTokenRate(clips: SpeechClip[]): TokenRate {
  const measuredOn: TokenRate['measuredOn'] = [];
  for (const clip of clips) {
    const reference = join(fixturesDir, 'speech', clip.name.replace(/\.wav$/, '.txt'));
    if (!existsSync(reference)) continue;
    const speechSeconds = clip.regions.reduce((sum, r) => sum + (r.endMs - r.startMs), 0) / 1000;
    // Whisper writes English in mixed case; a reference in capitals would tokenize into more, shorter pieces.
    const text = readFileSync(reference, 'utf8').trim();
    const cased =
      text === text.toUpperCase() ? text.toLowerCase().replace(/(^|[.!?]\s+)([a-z])/g, (m) => m.toUpperCase()) : text;
    const tokens = encode(` ${cased}`).length;
    measuredOn.push({ clip: clip.name, tokens, speechSeconds: Math.round(speechSeconds * 100) / 100 });
  }
  const tokens = measuredOn.reduce((sum, m) => sum + m.tokens, 0);
  const seconds = measuredOn.reduce((sum, m) => sum + m.speechSeconds, 0);
  return {
    tokensPerSecond: seconds > 0 ? Math.round((tokens / seconds) * 100) / 100 : DEFAULT_TOKENS_PER_SECOND,
    measuredOn,
  };
}
