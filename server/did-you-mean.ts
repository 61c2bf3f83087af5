/** "Did you mean" for a mistyped flag: the known one it is closest to, when it is close enough to be a typo. */

/** Edits (insertions, deletions, substitutions) that turn `a` into `b`. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row[j] = Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, substitution);
    }
    previous = row;
  }
  return previous[b.length] as number;
}

/** The candidate nearest `word`, if it is within a third of its length (at least 2) edits; else undefined. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = candidate.startsWith(word) || word.startsWith(candidate) ? 1 : distance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * A parseArgs error as one line: an unknown option gets the nearest known one suggested instead of Node's advice
 * about positional arguments.
 */
export function optionError(error: unknown, flags: readonly string[]): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  const unknown = /^Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1];
  if (code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || unknown === undefined) return message;
  const suggestion = closest(unknown.replace(/^-+/, ''), flags);
  return `unknown option ${unknown}${suggestion === undefined ? '' : `; did you mean --${suggestion}?`}`;
}
