/**
 * LocalAgreement-2 over words: a word becomes stable once two consecutive hypotheses agree on it and on
 * everything before it, and stable words are never taken back. Each partial shows the stable words followed by
 * the newest hypothesis's remaining words, so only the tail can change from one partial to the next.
 */
export class PartialStabilizer {
  private stable: string[] = [];
  /** The previous hypothesis's words after the stable ones. */
  private previousTail: string[] = [];

  /** Takes the newest hypothesis (already punctuation-free) and returns the text to show. */
  update(hypothesis: string): string {
    const words = hypothesis.split(/\s+/).filter((w) => w.length > 0);
    const tail = words.slice(continuation(this.stable, words));
    let agreed = 0;
    while (agreed < tail.length && agreed < this.previousTail.length && sameWord(tail[agreed] as string, this.previousTail[agreed] as string)) {
      agreed++;
    }
    this.stable.push(...tail.slice(0, agreed));
    this.previousTail = tail.slice(agreed);
    return [...this.stable, ...this.previousTail].join(' ');
  }
}

const sameWord = (a: string, b: string): boolean => a.toLocaleLowerCase() === b.toLocaleLowerCase();

function runAt(words: string[], at: number, run: string[]): boolean {
  return run.every((word, i) => at + i < words.length && sameWord(words[at + i] as string, word));
}

/**
 * Where `words` goes on beyond the stable words. A hypothesis usually repeats them first, but Whisper may drop, add
 * or change an early word; then the hypothesis is aligned on the longest run of the newest stable words it holds
 * (the occurrence nearest where it belongs), so the words after it are neither lost nor shown twice.
 */
function continuation(stable: string[], words: string[]): number {
  if (runAt(words, 0, stable)) return stable.length;
  for (let length = Math.min(stable.length, words.length); length > 0; length--) {
    const run = stable.slice(stable.length - length);
    const expected = stable.length - length;
    let best = -1;
    for (let at = 0; at + length <= words.length; at++) {
      if (runAt(words, at, run) && (best < 0 || Math.abs(at - expected) < Math.abs(best - expected))) best = at;
    }
    if (best >= 0) return best + length;
  }
  return Math.min(stable.length, words.length);
}
