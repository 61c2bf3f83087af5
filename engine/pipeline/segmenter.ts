/**
 * Where a segment of ongoing speech can be finalized: only where its text is already stable (committed), so the
 * final never has to take back a word the next segment needs. At the last committed sentence end, once the segment
 * is long enough to be worth a final of its own; otherwise, once the committed text spans the segment limit, at the
 * last committed word boundary within the limit.
 */
import type { Word } from './types.js';

export interface SegmentLimits {
  /** A segment is cut at a word boundary once its committed text spans this long. */
  maxSegmentMs: number;
  /** Shortest segment a sentence end cuts off: shorter sentences wait for the next ones. */
  minSegmentMs: number;
}

/** The segment ends after its first `words` committed words, at `atMs`. */
export interface SegmentCut {
  words: number;
  atMs: number;
}

/** A word that ends a sentence: terminal punctuation, perhaps inside closing quotes or brackets. */
const SENTENCE_END = /[.!?…。！？]['"’”)\]]*$/u;

/**
 * `committed`: the segment's committed words in session time (with punctuation), `startMs`: the segment's start,
 * `committedToMs`: where the audio after the last committed word begins. Null: no cut yet.
 */
export function segmentCut(committed: readonly Word[], startMs: number, committedToMs: number, limits: SegmentLimits): SegmentCut | null {
  // Boundary i: after the first i words, where word i begins (the commit point after the last one).
  const boundary = (i: number): number => (i < committed.length ? (committed[i] as Word).startMs : committedToMs);
  const limit = startMs + limits.maxSegmentMs;
  const long = (i: number): boolean => boundary(i) - startMs >= limits.minSegmentMs;
  for (let i = committed.length; i >= 1; i--) {
    if (boundary(i) <= limit && long(i) && SENTENCE_END.test((committed[i - 1] as Word).text)) return { words: i, atMs: boundary(i) };
  }
  if (committedToMs - startMs < limits.maxSegmentMs) return null;
  // Boundary 0 (before the first committed word) counts too: audio in which nothing was committed (noise, or no
  // agreement) is a segment like any other.
  for (let i = committed.length; i >= 0; i--) if (boundary(i) <= limit && long(i)) return { words: i, atMs: boundary(i) };
  // No boundary inside the limit: the first one past it, which keeps the segment as short as the words allow.
  for (let i = 0; i <= committed.length; i++) if (long(i)) return { words: i, atMs: boundary(i) };
  return null;
}
