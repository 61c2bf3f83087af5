/**
 * Words with times and confidences for a transcript text, from the tokens of the transcription it came from.
 * Whisper's tokens are pieces of words (a leading space starts a new word); DTW gives each token the time it begins.
 */
import type { OutcomeToken, TranscriptionOutcome, Word } from './types.js';

interface TimedWord {
  key: string;
  startMs: number | undefined;
  confidence: number;
}

/** Letters and digits only, lower case: what two spellings of a word must share to be the same word. */
const keyOf = (text: string): string => text.toLocaleLowerCase().replace(/[^\p{L}\p{M}\p{N}]/gu, '');

function tokenWords(tokens: OutcomeToken[]): TimedWord[] {
  const words: TimedWord[] = [];
  let text = '';
  let start: number | undefined;
  let probs: number[] = [];
  const close = (): void => {
    if (keyOf(text) !== '')
      words.push({ key: keyOf(text), startMs: start, confidence: probs.reduce((a, b) => a + b, 0) / probs.length });
    text = '';
    start = undefined;
    probs = [];
  };
  for (const token of tokens) {
    if (token.text.startsWith(' ')) close();
    start ??= token.timeMs;
    text += token.text;
    probs.push(token.p);
  }
  close();
  return words;
}

/**
 * The words of `text` (as the filters left it) between `fromMs` and `toMs` of the task's audio. Each is matched, in
 * order, to a word of the decoded tokens for its time and confidence; words without a time (no DTW, or no match) are
 * placed between their neighbours in proportion to their length.
 */
export function wordsOf(text: string, outcome: TranscriptionOutcome, toMs: number, fromMs = 0): Word[] {
  const spoken = text.split(/\s+/).filter((word) => keyOf(word) !== '');
  if (spoken.length === 0) return [];
  const timed = tokenWords(outcome.segments.flatMap((segment) => segment.tokens));
  const starts: (number | undefined)[] = [];
  const confidences: number[] = [];
  let next = 0;
  for (const word of spoken) {
    const key = keyOf(word);
    // A word the filters dropped (a non-speech mark, a repeated loop) is skipped over, not matched against.
    let at = next;
    while (at < timed.length && (timed[at] as TimedWord).key !== key) at++;
    const match = at < timed.length ? (timed[at] as TimedWord) : undefined;
    if (match) next = at + 1;
    starts.push(match?.startMs);
    confidences.push(match?.confidence ?? 0);
  }
  fillGaps(starts, spoken, fromMs, toMs);
  return spoken.map((word, i) => {
    const startMs = Math.round(starts[i] as number);
    const endMs = i + 1 < spoken.length ? Math.round(starts[i + 1] as number) : toMs;
    return { text: word, startMs, endMs: Math.max(startMs, endMs), confidence: confidences[i] as number };
  });
}

/** Gives every word a start, non-decreasing and inside [fromMs, toMs], spreading untimed runs by character count. */
function fillGaps(starts: (number | undefined)[], words: string[], fromMs: number, audioMs: number): void {
  let floor = fromMs;
  for (let i = 0; i < starts.length; i++) {
    const known = starts[i];
    if (known !== undefined) {
      floor = Math.min(audioMs, Math.max(floor, known));
      starts[i] = floor;
      continue;
    }
    let j = i;
    while (j < starts.length && starts[j] === undefined) j++;
    const until = j < starts.length ? Math.min(audioMs, Math.max(floor, starts[j] as number)) : audioMs;
    const lengths = words.slice(i, j).map((word) => word.length + 1);
    const total = lengths.reduce((a, b) => a + b, 0) + (j < starts.length ? 0 : 1);
    let at = floor;
    for (let k = i; k < j; k++) {
      starts[k] = at;
      at += ((until - floor) * (lengths[k - i] as number)) / total;
    }
    i = j - 1;
  }
}

/** Shifts words from a task's audio time into the session's, `offsetMs` later. */
export const shiftWords = (words: Word[], offsetMs: number): Word[] =>
  words.map((word) => ({ ...word, startMs: word.startMs + offsetMs, endMs: word.endMs + offsetMs }));
