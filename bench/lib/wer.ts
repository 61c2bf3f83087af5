// Word error rate: word-level Levenshtein alignment of a hypothesis against a reference, counted as substitutions,
// deletions and insertions, per utterance and pooled over a corpus.

export interface WordErrors {
  substitutions: number;
  deletions: number;
  insertions: number;
  /** Words in the reference: the denominator of the rate. */
  referenceWords: number;
}

/**
 * The fewest substitutions, deletions (reference words missing) and insertions (extra hypothesis words) that turn
 * `reference` into `hypothesis`. Of equally short alignments, the one with the most substitutions is counted, as
 * the usual scoring tools do.
 */
export function countWordErrors(reference: readonly string[], hypothesis: readonly string[]): WordErrors {
  const rows = reference.length + 1;
  const cols = hypothesis.length + 1;
  // distance[i * cols + j]: edits between the first i reference words and the first j hypothesis words
  const distance = new Uint32Array(rows * cols);
  for (let i = 0; i < rows; i++) distance[i * cols] = i;
  for (let j = 0; j < cols; j++) distance[j] = j;
  const at = (i: number, j: number): number => distance[i * cols + j] as number;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const diagonal = at(i - 1, j - 1) + (reference[i - 1] === hypothesis[j - 1] ? 0 : 1);
      distance[i * cols + j] = Math.min(diagonal, at(i - 1, j) + 1, at(i, j - 1) + 1);
    }
  }

  const errors: WordErrors = { substitutions: 0, deletions: 0, insertions: 0, referenceWords: reference.length };
  let i = reference.length;
  let j = hypothesis.length;
  while (i > 0 || j > 0) {
    const here = at(i, j);
    if (i > 0 && j > 0 && reference[i - 1] === hypothesis[j - 1] && here === at(i - 1, j - 1)) {
      i--;
      j--;
    } else if (i > 0 && j > 0 && here === at(i - 1, j - 1) + 1) {
      errors.substitutions++;
      i--;
      j--;
    } else if (i > 0 && here === at(i - 1, j) + 1) {
      errors.deletions++;
      i--;
    } else {
      errors.insertions++;
      j--;
    }
  }
  return errors;
}

/** Counts over several utterances, for the pooled rate (all errors over all reference words). */
export function sumWordErrors(list: readonly WordErrors[]): WordErrors {
  return list.reduce(
    (sum, e) => ({
      substitutions: sum.substitutions + e.substitutions,
      deletions: sum.deletions + e.deletions,
      insertions: sum.insertions + e.insertions,
      referenceWords: sum.referenceWords + e.referenceWords,
    }),
    { substitutions: 0, deletions: 0, insertions: 0, referenceWords: 0 },
  );
}

/**
 * (S + D + I) / N, a fraction (0.25 is 25%; insertions can take it above 1). With an empty reference it is 0 when the
 * hypothesis is empty too, and null (undefined) when it is not.
 */
export function wordErrorRate(e: WordErrors): number | null {
  const errors = e.substitutions + e.deletions + e.insertions;
  if (e.referenceWords === 0) return errors === 0 ? 0 : null;
  return errors / e.referenceWords;
}
