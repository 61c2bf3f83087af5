/**
 * Where a segment of ongoing speech can be finalized: only where its text is already stable (committed), so the
 * final never has to take back a word the next segment needs. At the last committed sentence end within the limit,
 * once the segment is long enough to be worth a final of its own; otherwise, once the segment's audio spans the
 * limit, at the last committed word boundary (the caller commits all but the newest words first, so that boundary
 * is close to the audio and the final comes soon after it).
 */
import type { Word } from './types.js';

export interface SegmentLimits {
  /** A segment whose audio spans this long is cut at its last committed word boundary. */
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
 * `committedToMs`: where the audio after the last committed word begins, `audioToMs`: the newest audio heard.
 * Null: no cut yet.
 */
export function segmentCut(
  committed: readonly Word[],
  startMs: number,
  committedToMs: number,
  audioToMs: number,
  limits: SegmentLimits,
): SegmentCut | null {
  // Boundary i: after the first i words, where word i begins (the commit point after the last one).
  const boundary = (i: number): number => (i < committed.length ? (committed[i] as Word).startMs : committedToMs);
  const long = (i: number): boolean => boundary(i) - startMs >= limits.minSegmentMs;
  for (let i = committed.length; i >= 1; i--) {
    const ends = SENTENCE_END.test((committed[i - 1] as Word).text);
    if (ends && long(i) && boundary(i) <= startMs + limits.maxSegmentMs) return { words: i, atMs: boundary(i) };
  }
  if (audioToMs - startMs < limits.maxSegmentMs) return null;
  // Boundary 0 (before the first committed word) counts too: audio in which nothing was committed (noise, or no
  // agreement) is a segment like any other.
  for (let i = committed.length; i >= 0; i--) if (long(i)) return { words: i, atMs: boundary(i) };
  return null;
}
