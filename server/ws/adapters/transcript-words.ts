/**
 * Transcripts as the drop-in protocols show them: every word with a time, in seconds or milliseconds, and their
 * unformatted style (lower case, no punctuation). A partial's committed words keep their times; its tail, which
 * the session does not time, is spread evenly over the audio after them.
 */
import { stripPunctuation, type TranscriptEvent } from '../../../engine/pipeline/index.js';

export interface ShownWord {
  text: string;
  startMs: number;
  endMs: number;
  /** 0 for a tail word: not known yet. */
  confidence: number;
  /** Never changes: a final's words and a partial's committed ones. */
  stable: boolean;
}

export function shownWords(event: TranscriptEvent): ShownWord[] {
  const stable = event.words.map((word) => ({ ...word, stable: true }));
  if (event.isFinal) return stable;
  const tail = event.text
    .split(' ')
    .slice(stable.length)
    .filter((word) => word !== '');
  const from = event.words.at(-1)?.endMs ?? event.startMs;
  const step = tail.length > 0 ? Math.max(0, event.endMs - from) / tail.length : 0;
  const timed = tail.map((text, i) => ({
    text,
    startMs: Math.round(from + i * step),
    endMs: Math.round(from + (i + 1) * step),
    confidence: 0,
    stable: false,
  }));
  return [...stable, ...timed];
}

/** Lower case without punctuation: Deepgram without `punctuate`, AssemblyAI without `format_turns`. */
export const plainText = (text: string): string => stripPunctuation(text).toLocaleLowerCase();

/** Mean confidence of the stable words; 0 without any. */
export function meanConfidence(words: readonly ShownWord[]): number {
  const stable = words.filter((word) => word.stable);
  return stable.length === 0 ? 0 : rounded(stable.reduce((sum, word) => sum + word.confidence, 0) / stable.length);
}

/** Three decimals: what a confidence or a time in seconds needs on the wire. */
export const rounded = (value: number): number => Math.round(value * 1000) / 1000;

export const seconds = (ms: number): number => rounded(ms / 1000);
