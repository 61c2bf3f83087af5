// Scores transcripts against the corpus references: both sides normalised alike, errors per clip and pooled.
import type { Clip } from './accuracy-clips.js';
import { normalizedWords } from './english-normalizer.js';
import { countWordErrors, sumWordErrors, wordErrorRate, type WordErrors } from './wer.js';

export interface ClipScore extends WordErrors {
  clip: string;
  /** (S + D + I) / N as a fraction; null only for an empty reference (see wordErrorRate). */
  wer: number | null;
  /** The transcript as produced, and both sides as they were compared. */
  hypothesis: string;
  normalizedHypothesis: string;
  normalizedReference: string;
}

export interface ModeScore {
  /** How this mode decoded, named next to its figures. */
  decode: string;
  clips: ClipScore[];
  /** All clips together: the sum of errors over the sum of reference words. */
  pooled: WordErrors & { wer: number | null };
}

/** `hypotheses[i]` is the transcript of `clips[i]`. */
export function scoreMode(decode: string, clips: readonly Clip[], hypotheses: readonly string[]): ModeScore {
  const scores = clips.map((clip, i): ClipScore => {
    const hypothesis = hypotheses[i] ?? '';
    const reference = normalizedWords(clip.reference);
    const hypothesisWords = normalizedWords(hypothesis);
    const errors = countWordErrors(reference, hypothesisWords);
    return {
      clip: clip.name,
      ...errors,
      wer: wordErrorRate(errors),
      hypothesis,
      normalizedHypothesis: hypothesisWords.join(' '),
      normalizedReference: reference.join(' '),
    };
  });
  const pooled = sumWordErrors(scores);
  return { decode, clips: scores, pooled: { ...pooled, wer: wordErrorRate(pooled) } };
}
