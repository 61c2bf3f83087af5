/**
 * The partial strategy: partials whose cost does not grow with the segment. Each transcribes only the audio after
 * the last committed word (less a short overlap), prompted with the words committed before it. A word is committed
 * once two consecutive hypotheses agree on it and on everything before it (LocalAgreement-2); the start of the word
 * after it, as this hypothesis times it, is where the next window begins. When nothing becomes stable while the tail
 * grows past its bound, the oldest words of the newest hypothesis are committed anyway (see force()). Committed words
 * keep Whisper's punctuation, which tells the segmenter where sentences end; partials show them without it.
 */
import { stripPunctuation } from './text-filters.js';
import { msToSamples, samplesToMs, type Word } from './types.js';

export interface CommittedWindowOptions {
  /** Audio before the commit point that the next window re-reads, so a word cut early by its timing is heard whole. */
  overlapMs: number;
  /** Longest uncommitted tail before words are committed without agreement. */
  maxTailMs: number;
  /** How much of the tail a forced commit leaves to be read again. */
  keepMs: number;
}

/** What the next partial transcribes: samples [fromSample, toSample) with `prompt` before them. */
export interface WindowPlan {
  fromSample: number;
  toSample: number;
  prompt: string;
}

/** Letters and digits, lower case: agreement ignores case and punctuation. */
const keyOf = (word: Word): string => word.text.toLocaleLowerCase().replace(/[^\p{L}\p{M}\p{N}]/gu, '');
const sameWords = (a: Word[], b: Word[]): boolean =>
  a.length === b.length && a.every((word, i) => keyOf(word) === keyOf(b[i] as Word));
/** Repeated words a window may hear again from the overlap, at most. */
const MAX_REPEAT = 4;
/** Committed text of earlier segments a partial's prompt keeps for context. */
const CONTEXT_CHARS = 100;

const shown = (words: readonly Word[]): string =>
  words
    .map((word) => stripPunctuation(word.text))
    .filter((text) => text !== '')
    .join(' ');

export class CommittedWindow {
  private committed: Word[] = [];
  /** Where the audio after the committed words begins. */
  private commitSample: number;
  /** The newest hypothesis's words after the committed ones, in session time. */
  private tail: Word[] = [];
  /** Committed text that earlier segments took with them: context for the next prompts. */
  private context = '';
  private readonly overlap: number;
  private readonly maxTail: number;
  private readonly keep: number;

  constructor(
    private startSample: number,
    options: CommittedWindowOptions,
  ) {
    this.commitSample = startSample;
    this.overlap = msToSamples(options.overlapMs);
    this.maxTail = msToSamples(options.maxTailMs);
    this.keep = msToSamples(options.keepMs);
  }

  /** The committed words since the window's start, as Whisper wrote them; they never change. */
  get stable(): readonly Word[] {
    return this.committed;
  }

  /** The committed words without punctuation, as partials show them. */
  get shownStable(): Word[] {
    return this.committed
      .map((word) => ({ ...word, text: stripPunctuation(word.text) }))
      .filter((word) => word.text !== '');
  }

  /** Where the audio after the committed words begins: every word before it is committed. */
  get committedTo(): number {
    return this.commitSample;
  }

  /** What a partial shows: the committed words, then the newest hypothesis's tail, without punctuation. */
  get text(): string {
    return shown([...this.committed, ...this.tail]);
  }

  plan(toSample: number): WindowPlan {
    const prompt = [this.context, shown(this.committed)].filter((part) => part !== '').join(' ');
    return {
      fromSample: Math.min(toSample, Math.max(this.startSample, this.commitSample - this.overlap)),
      toSample,
      prompt: prompt.length > CONTEXT_CHARS ? prompt.slice(prompt.length - CONTEXT_CHARS) : prompt,
    };
  }

  /** Takes the words (session time, with Whisper's punctuation) a partial heard in `plan`'s window. */
  accept(plan: WindowPlan, heard: Word[]): void {
    const tail = this.newWords(heard);
    let agreed = 0;
    while (
      agreed < tail.length &&
      agreed < this.tail.length &&
      keyOf(tail[agreed] as Word) === keyOf(this.tail[agreed] as Word)
    )
      agreed++;
    // The newest word's end is not known until a word follows it, so it stays in the tail.
    const commit = Math.max(0, Math.min(agreed, tail.length - 1));
    if (commit > 0) {
      this.committed.push(...tail.slice(0, commit));
      this.commitSample = Math.max(this.commitSample, msToSamples((tail[commit] as Word).startMs));
      this.tail = tail.slice(commit);
    } else {
      this.tail = tail;
    }
    if (plan.toSample - this.commitSample > this.maxTail) this.force(plan.toSample);
  }

  /**
   * A segment ended at `atSample`, after the first `words` committed words: they leave the window (their text stays
   * as prompt context), and the window goes on from there with the rest.
   */
  cut(words: number, atSample: number): void {
    const gone = this.committed.splice(0, words);
    this.context = [this.context, shown(gone)]
      .filter((part) => part !== '')
      .join(' ')
      .slice(-CONTEXT_CHARS);
    this.startSample = atSample;
    this.commitSample = Math.max(this.commitSample, atSample);
    this.tail = this.tail.filter((word) => msToSamples(word.startMs) >= atSample);
  }

  /** The segment was cut at `atSample` without regard to words (the backstop): everything starts again there. */
  restart(atSample: number): void {
    this.context = [this.context, shown(this.committed)]
      .filter((part) => part !== '')
      .join(' ')
      .slice(-CONTEXT_CHARS);
    this.committed = [];
    this.tail = [];
    this.startSample = atSample;
    this.commitSample = atSample;
  }

  /**
   * Commits the words of the newest hypothesis that begin before the tail's last `keepMs` as they are, and moves the
   * window on to there: when nothing became stable for a whole tail, so no partial reads more than maxTailMs (plus
   * one interval) however long the speech goes on without agreement; and when a segment reaches its limit.
   */
  force(toSample: number): void {
    const moveTo = toSample - this.keep;
    const moveToMs = samplesToMs(moveTo);
    let count = 0;
    while (count < this.tail.length && (this.tail[count] as Word).startMs < moveToMs) count++;
    this.committed.push(...this.tail.slice(0, count));
    this.tail = this.tail.slice(count);
    this.commitSample = Math.max(this.commitSample, moveTo);
  }

  /** The hypothesis's words past the committed ones: overlap audio may repeat the last few committed words. */
  private newWords(heard: Word[]): Word[] {
    const commitMs = samplesToMs(this.commitSample);
    let from = 0;
    // A word that ends before the commit point is a piece of the last committed word, heard again in the overlap.
    while (from < heard.length && (heard[from] as Word).endMs <= commitMs) from++;
    const words = heard.slice(from);
    for (let n = Math.min(MAX_REPEAT, words.length, this.committed.length); n > 0; n--) {
      if (sameWords(words.slice(0, n), this.committed.slice(this.committed.length - n))) return words.slice(n);
    }
    return words;
  }
}
