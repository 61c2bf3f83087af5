// British spellings to American ones ("colour" -> "color"), the job of Whisper's EnglishSpellingNormalizer. Whisper
// ships a word list for it; this is a short hand-written set of the common word families instead.

/** British stem, American stem, and the endings both take: each combination is one word pair. */
type Family = readonly [british: string, american: string, endings: readonly string[]];

const OUR = ['', 's', 'ed', 'ing', 'ful', 'fully', 'less', 'able', 'ably', 'ite', 'ites', 'er', 'ers', 'hood', 'hoods', 'y', 'ist', 'ists'];
const IZE = ['e', 'es', 'ed', 'ing', 'er', 'ers', 'ation', 'ations', 'able'];
const DOUBLE_L = ['ed', 'ing', 'er', 'ers', 'or', 'ors'];

const our = (stem: string): Family => [`${stem}our`, `${stem}or`, OUR];
const ise = (stem: string): Family => [`${stem}is`, `${stem}iz`, IZE];
// Not "-yses": "analyses" is also the plural of "analysis".
const yse = (stem: string): Family => [`${stem}ys`, `${stem}yz`, ['e', 'ed', 'ing', 'er', 'ers']];
const ll = (stem: string): Family => [`${stem}l`, stem, DOUBLE_L];

/** Single words, and their plurals. */
const NOUNS: readonly (readonly [british: string, american: string])[] = [
  ['defence', 'defense'], ['offence', 'offense'], ['licence', 'license'], ['pretence', 'pretense'], ['catalogue', 'catalog'],
  ['analogue', 'analog'], ['programme', 'program'], ['grey', 'gray'], ['tyre', 'tire'], ['cheque', 'check'],
  ['plough', 'plow'], ['mould', 'mold'], ['smoulder', 'smolder'], ['draught', 'draft'], ['moustache', 'mustache'],
  ['pyjama', 'pajama'], ['sceptic', 'skeptic'], ['manoeuvre', 'maneuver'], ['kerb', 'curb'], ['gaol', 'jail'],
];

const FAMILIES: readonly Family[] = [
  ...['col', 'flav', 'fav', 'hon', 'hum', 'lab', 'neighb', 'behavi', 'harb', 'rum', 'vap', 'od', 'arm', 'endeav', 'splend',
    'sav', 'val', 'vig', 'parl', 'savi', 'clam', 'cand', 'ferv', 'ranc', 'tum', 'demean', 'ard'].map(our),
  ...['organ', 'real', 'recogn', 'apolog', 'critic', 'emphas', 'memor', 'summar', 'priorit', 'special', 'civil', 'author',
    'categor', 'character', 'final', 'standard', 'normal', 'minim', 'maxim', 'util', 'visual', 'legal', 'modern', 'sympath',
    'patron', 'fantas', 'agon', 'capital', 'central', 'global', 'mobil', 'neutral', 'popular', 'privat', 'stabil', 'symbol',
    'scrutin', 'energ', 'harmon', 'jeopard', 'hospital', 'familiar', 'ideal', 'immun', 'local', 'optim', 'personal',
    'social', 'terror', 'vapor', 'victim', 'colon', 'fertil', 'industrial', 'material', 'natural', 'penal', 'polar'].map(ise),
  ...['anal', 'paral', 'catal', 'breathal'].map(yse),
  ...['travel', 'cancel', 'label', 'model', 'fuel', 'counsel', 'signal', 'total', 'level', 'quarrel', 'channel', 'dial',
    'tunnel', 'shovel', 'rival', 'marshal', 'pencil', 'duel', 'jewel', 'equal'].map(ll),
  // -re -> -er: "centred" becomes "centered"
  ...['cent', 'theat', 'met', 'lit', 'fib', 'calib', 'sab', 'somb', 'spect', 'lust', 'meag', 'kilomet', 'centimet',
    'millimet', 'millilit'].flatMap((stem): Family[] => [
    [`${stem}re`, `${stem}er`, ['', 's']],
    [`${stem}red`, `${stem}ered`, ['']],
  ]),
  ...NOUNS.map(([british, american]): Family => [british, american, ['', 's']]),
  ['sceptical', 'skeptical', ['', 'ly']],
  ['marvellous', 'marvelous', ['', 'ly']],
  ['jewellery', 'jewelry', ['']],
  ['aluminium', 'aluminum', ['']],
  ['judgement', 'judgment', ['', 's']],
  ['ageing', 'aging', ['']],
  ['fulfil', 'fulfill', ['', 's', 'ment']],
  ['enrol', 'enroll', ['', 's', 'ment']],
  ['skilful', 'skillful', ['', 'ly']],
  ['wilful', 'willful', ['', 'ly']],
  ['instalment', 'installment', ['', 's']],
  ['encyclopaedia', 'encyclopedia', ['', 's']],
  ['paediatric', 'pediatric', ['', 's']],
  ['anaemia', 'anemia', ['']],
  ['foetus', 'fetus', ['', 'es']],
];

const AMERICAN = new Map<string, string>(
  FAMILIES.flatMap(([british, american, endings]) => endings.map((ending): [string, string] => [british + ending, american + ending])),
);

/** Each word of space-separated, lower-case `text` in its American spelling. */
export function americanSpelling(text: string): string {
  return text
    .split(' ')
    .map((word) => AMERICAN.get(word) ?? word)
    .join(' ');
}
