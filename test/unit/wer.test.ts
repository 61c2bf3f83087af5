// Word error rate (bench/lib/wer.ts) on known alignments: substitution, deletion and insertion counts, pooling and
// empty inputs.
import t from 'tap';
import { countWordErrors, sumWordErrors, wordErrorRate } from '../../bench/lib/wer.js';

const words = (text: string): string[] => (text === '' ? [] : text.split(' '));
const count = (reference: string, hypothesis: string): ReturnType<typeof countWordErrors> =>
  countWordErrors(words(reference), words(hypothesis));

t.test('identical texts have no errors', async (t) => {
  const e = count('the cat sat on the mat', 'the cat sat on the mat');
  t.same(e, { substitutions: 0, deletions: 0, insertions: 0, referenceWords: 6 });
  t.equal(wordErrorRate(e), 0);
});

t.test('one of each kind', async (t) => {
  t.same(
    count('the cat sat on the mat', 'the dog sat on the mat'),
    { substitutions: 1, deletions: 0, insertions: 0, referenceWords: 6 },
    'substitution',
  );
  t.same(
    count('the cat sat on the mat', 'the cat on the mat'),
    { substitutions: 0, deletions: 1, insertions: 0, referenceWords: 6 },
    'deletion',
  );
  t.same(
    count('the cat sat on the mat', 'the cat sat down on the mat'),
    { substitutions: 0, deletions: 0, insertions: 1, referenceWords: 6 },
    'insertion',
  );
});

t.test('mixed errors count the shortest alignment', async (t) => {
  // ref:  a b c d e f      hyp: a x c e f g
  // b->x substituted, d deleted, g inserted
  const e = count('a b c d e f', 'a x c e f g');
  t.same(e, { substitutions: 1, deletions: 1, insertions: 1, referenceWords: 6 });
  t.equal(wordErrorRate(e), 0.5);
  t.same(
    count('one two three', 'three two one'),
    { substitutions: 2, deletions: 0, insertions: 0, referenceWords: 3 },
    'reversal: two substitutions',
  );
  t.same(
    count('a b', 'c d e f'),
    { substitutions: 2, deletions: 0, insertions: 2, referenceWords: 2 },
    'substitutions preferred over deletion plus insertion',
  );
});

t.test('insertions can take the rate above 100%', async (t) => {
  const e = count('yes', 'no no no');
  t.same(e, { substitutions: 1, deletions: 0, insertions: 2, referenceWords: 1 });
  t.equal(wordErrorRate(e), 3);
});

t.test('empty reference or hypothesis', async (t) => {
  const silence = count('hello there', '');
  t.same(
    silence,
    { substitutions: 0, deletions: 2, insertions: 0, referenceWords: 2 },
    'empty hypothesis: every word deleted',
  );
  t.equal(wordErrorRate(silence), 1);
  const invented = count('', 'hello there');
  t.same(
    invented,
    { substitutions: 0, deletions: 0, insertions: 2, referenceWords: 0 },
    'empty reference: every word inserted',
  );
  t.equal(wordErrorRate(invented), null, 'no rate without reference words');
  const nothing = count('', '');
  t.same(nothing, { substitutions: 0, deletions: 0, insertions: 0, referenceWords: 0 });
  t.equal(wordErrorRate(nothing), 0, 'nothing said, nothing heard: no errors');
});

t.test('pooled over clips: all errors over all reference words', async (t) => {
  const pooled = sumWordErrors([count('a b c d', 'a b c d'), count('e f', 'e x'), count('g h i j', 'g h')]);
  t.same(pooled, { substitutions: 1, deletions: 2, insertions: 0, referenceWords: 10 });
  t.equal(wordErrorRate(pooled), 0.3, 'not the mean of the per-clip rates (0, 0.5, 0.5)');
  t.same(sumWordErrors([]), { substitutions: 0, deletions: 0, insertions: 0, referenceWords: 0 });
});
