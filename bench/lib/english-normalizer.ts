// Whisper's English text normalisation for word error rates, our own implementation of the rules of OpenAI Whisper's
// EnglishTextNormalizer (whisper/normalizers/english.py, MIT): the same text in different styles compares equal.
import { americanSpelling } from './american-spelling.js';
import { normalizeNumbers } from './english-numbers.js';

/** Hesitations that references leave out. */
const FILLERS = /\b(hmm|mm|mhm|mmm|uh|um)\b/g;

/** Spoken forms standardised, in this order: specific contractions and titles before the general "'s", "n't"... */
const REPLACEMENTS: readonly (readonly [RegExp, string])[] = [
  [/\bwon't\b/g, 'will not'],
  [/\bcan't\b/g, 'can not'],
  [/\blet's\b/g, 'let us'],
  [/\bain't\b/g, 'aint'],
  [/\by'all\b/g, 'you all'],
  [/\bwanna\b/g, 'want to'],
  [/\bgotta\b/g, 'got to'],
  [/\bgonna\b/g, 'going to'],
  [/\bi'ma\b/g, 'i am going to'],
  [/\bimma\b/g, 'i am going to'],
  [/\bwoulda\b/g, 'would have'],
  [/\bcoulda\b/g, 'could have'],
  [/\bshoulda\b/g, 'should have'],
  [/\bma'am\b/g, 'madam'],
  ...Object.entries({
    mr: 'mister',
    mrs: 'missus',
    st: 'saint',
    dr: 'doctor',
    prof: 'professor',
    capt: 'captain',
    gov: 'governor',
    ald: 'alderman',
    gen: 'general',
    sen: 'senator',
    rep: 'representative',
    pres: 'president',
    rev: 'reverend',
    hon: 'honorable',
    asst: 'assistant',
    assoc: 'associate',
    lt: 'lieutenant',
    col: 'colonel',
    jr: 'junior',
    sr: 'senior',
    esq: 'esquire',
  }).map(([short, long]): [RegExp, string] => [new RegExp(`\\b${short}\\b`, 'g'), `${long} `]),
  // perfect tenses, where "'s" and "'d" are "has" and "had" ("'s done" is left ambiguous)
  [/'d been\b/g, ' had been'],
  [/'s been\b/g, ' has been'],
  [/'d gone\b/g, ' had gone'],
  [/'s gone\b/g, ' has gone'],
  [/'d done\b/g, ' had done'],
  [/'s got\b/g, ' has got'],
  [/n't\b/g, ' not'],
  [/'re\b/g, ' are'],
  [/'s\b/g, ' is'],
  [/'d\b/g, ' would'],
  [/'ll\b/g, ' will'],
  [/'t\b/g, ' not'],
  [/'ve\b/g, ' have'],
  [/'m\b/g, ' am'],
];

/** Letters that decomposition leaves whole, spelled in plain Latin letters. */
const LIGATURES: Readonly<Record<string, string>> = {
  œ: 'oe',
  æ: 'ae',
  ø: 'o',
  ß: 'ss',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ł: 'l',
};
/** Symbols that belong to numbers: kept until the numbers are read. */
const NUMERIC_SYMBOLS = '.%$¢€£';

/** Accents dropped; other marks, symbols and punctuation (apostrophes too) become spaces, except NUMERIC_SYMBOLS. */
function removeSymbolsAndDiacritics(text: string): string {
  return text.normalize('NFKD').replace(/[\p{M}\p{S}\p{P}œæøßđðþł]/gu, (c) => {
    if (NUMERIC_SYMBOLS.includes(c)) return c;
    return LIGATURES[c] ?? (/\p{Mn}/u.test(c) ? '' : ' ');
  });
}

/**
 * `text` in Whisper's normal form for English: lower case, no bracketed or parenthesised asides, no fillers,
 * contractions and titles spelled out, numbers as digits, American spelling, no punctuation, single spaces.
 */
export function normalizeEnglish(text: string): string {
  // typographic apostrophes too, so "don’t" meets the contraction rules
  let s = text.toLowerCase().replace(/\u2019/g, "'");
  s = s.replace(/[<[][^>\]]*[>\]]/g, '');
  s = s.replace(/\([^)]+?\)/g, '');
  s = s.replace(FILLERS, '');
  s = s.replace(/\s+'/g, "'");
  for (const [pattern, replacement] of REPLACEMENTS) s = s.replace(pattern, replacement);
  s = s.replace(/(\d),(\d)/g, '$1$2');
  // a period that is not a decimal point ends a sentence or an abbreviation
  s = s.replace(/\.([^0-9]|$)/g, ' $1');
  s = removeSymbolsAndDiacritics(s);
  s = normalizeNumbers(s);
  s = americanSpelling(s);
  // symbols left over that no number claimed
  s = s.replace(/[.$¢€£](?![0-9])/g, ' ');
  s = s.replace(/(?<![0-9])%/g, ' ');
  return s.replace(/\s+/g, ' ').trim();
}

/** The words of `text` after normalizeEnglish(). */
export function normalizedWords(text: string): string[] {
  const normal = normalizeEnglish(text);
  return normal === '' ? [] : normal.split(' ');
}
