/**
 * LocalAgreement-2 over words: a word becomes stable once two consecutive hypotheses agree on it and on
 * everything before it, and stable words are never taken back. Each partial shows the stable words followed by
 * the newest hypothesis's remaining words, so only the tail can change from one partial to the next.
 */
export class PartialStabilizer {
  private stable: string[] = [];
  private previous: string[] = [];

  /** Takes the newest hypothesis (already punctuation-free) and returns the text to show. */
  update(hypothesis: string): string {
    const words = hypothesis.split(/\s+/).filter((w) => w.length > 0);
    let agreed = this.stable.length;
    while (agreed < words.length && agreed < this.previous.length && sameWord(words[agreed] as string, this.previous[agreed] as string)) {
      agreed++;
    }
    for (let i = this.stable.length; i < agreed; i++) this.stable.push(words[i] as string);
    this.previous = words;
    return [...this.stable, ...words.slice(this.stable.length)].join(' ');
  }
}

const sameWord = (a: string, b: string): boolean => a.toLocaleLowerCase() === b.toLocaleLowerCase();
