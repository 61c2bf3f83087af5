// Whisper-style English normalisation (bench/lib/english-normalizer.ts) on known strings: what the accuracy bench
// counts as the same words.
import t, { type Test } from 'tap';
import { normalizeEnglish, normalizedWords } from '../../bench/lib/english-normalizer.js';
import { normalizeNumbers } from '../../bench/lib/english-numbers.js';

function expect(t: Test, normalize: (text: string) => string, pairs: readonly (readonly [string, string])[]): void {
  for (const [input, expected] of pairs) t.equal(normalize(input), expected, JSON.stringify(input));
}

t.test('case, punctuation and spacing', async (t) => {
  expect(t, normalizeEnglish, [
    ['And so, my fellow Americans: ask not!', 'and so my fellow americans ask not'],
    ['I AM FROM THE CUTTER LYING OFF THE COAST', 'i am from the cutter lying off the coast'],
    ['  "Quoted"   words -- and a dash-joined pair; done?  ', 'quoted words and a dash joined pair done'],
    ['one\ttab\nand newline', 'one tab and newline'],
    ['', ''],
    ['?!...', ''],
  ]);
});

t.test('bracketed and parenthesised asides and fillers go', async (t) => {
  expect(t, normalizeEnglish, [
    ['[Music] hello <unk> there (laughs) friend', 'hello there friend'],
    ['Um, so, uh, hmm, we mm go', 'so we go'],
    ['mhm yes mmm', 'yes'],
    ['umbrella and human', 'umbrella and human'],
  ]);
});

t.test('contractions, slang and titles are spelled out', async (t) => {
  expect(t, normalizeEnglish, [
    ["I won't, you can't, let's", 'i will not you can not let us'],
    ["They're sure it's fine and we'll see", 'they are sure it is fine and we will see'],
    [
      "She'd been there, he's gone, I'd go, I've seen, I'm in",
      'she had been there he has gone i would go i have seen i am in',
    ],
    ["don't, doesn’t", 'do not does not'],
    ["y'all gonna wanna, gotta", 'you all going to want to got to'],
    ['Mr. Smith met Dr. Jones and Gen. Lee Jr.', 'mister smith met doctor jones and general lee junior'],
    ["ma'am", 'madam'],
  ]);
});

t.test('spelled-out numbers become digits', async (t) => {
  expect(t, normalizeEnglish, [
    ['Twenty-five people', '25 people'],
    ['one hundred and five', '105'],
    ['two thousand three hundred forty one', '2341'],
    ['in nineteen sixty one', 'in 1961'],
    ['the nineteen eighties', 'the 1980s'],
    ['the twenty first century', 'the 21st century'],
    ['on the third day', 'on the 3rd day'],
    ['three point one four', '3.14'],
    ['one and a half', '1.5'],
    ['two and a half hours', '2.5 hours'],
    ['double oh seven', '007'],
    ['1,000,000 and 2,5', '1000000 and 25'],
    ['minus forty', '-40'],
  ]);
  // a lone "one" is kept as a word, as Whisper's normaliser writes it back for readability
  expect(t, normalizeEnglish, [
    ['one of them', 'one of them'],
    ['the ones', 'the ones'],
  ]);
});

t.test('currency and percent', async (t) => {
  expect(t, normalizeEnglish, [
    ['twenty dollars', '$20'],
    ['$20', '$20'],
    ['five dollars and fifty cents', '$5.50'],
    ['seventy cents', '¢70'],
    ['$0.07', '¢7'],
    ['two million euros', '€2000000'],
    ['fifteen percent', '15%'],
    ['fifteen per cent', '15%'],
    ['15%', '15%'],
    ['a $ sign and a % sign', 'a sign and a sign'],
  ]);
});

t.test('the number reader on its own', async (t) => {
  expect(t, normalizeNumbers, [
    ['nine one one', '911'],
    ['twenty twenty', '2020'],
    ['two point five million', '2500000'],
    ['hundreds', '100s'],
    ['five thousandth', '5000th'],
    ['plus three', '+3'],
    ['the end', 'the end'],
  ]);
});

t.test('British spellings, accents and ligatures', async (t) => {
  expect(t, normalizeEnglish, [
    ['The colour of the centre', 'the color of the center'],
    ['we realised, travelling, organisation', 'we realized traveling organization'],
    ['analysed defence programme', 'analyzed defense program'],
    ['our hour', 'our hour'],
    ['Café naïve œuvre Straße', 'cafe naive oeuvre strasse'],
  ]);
});

t.test('reference and hypothesis in different styles compare equal', async (t) => {
  t.same(
    normalizedWords("Mr. O'Neil paid $25 for twenty-five colourful hats, didn't he?"),
    normalizedWords('MISTER O NEIL PAID TWENTY FIVE DOLLARS FOR 25 COLORFUL HATS DID NOT HE'),
  );
  t.same(normalizedWords(''), [], 'no words in an empty text');
  t.same(normalizedWords('(applause)'), [], 'no words in an aside alone');
});
