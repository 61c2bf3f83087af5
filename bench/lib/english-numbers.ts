// Spelled-out English numbers to digits ("twenty five" -> "25", "third" -> "3rd", "five percent" -> "5%"), our own
// implementation of the rules of OpenAI Whisper's EnglishNumberNormalizer (whisper/normalizers/english.py, MIT).

/**
 * A number being read: an integer that later words may still add to or multiply, a digit string built by
 * juxtaposition ("one oh one" -> "101", "3." before decimals), or nothing.
 */
type Value = bigint | string | null;

const ONE_TO_NINETEEN = [
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
];
const TENS_NAMES = ['twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const MULTIPLIER_NAMES = [
  'thousand',
  'million',
  'billion',
  'trillion',
  'quadrillion',
  'quintillion',
  'sextillion',
  'septillion',
  'octillion',
  'nonillion',
  'decillion',
];
const IRREGULAR_ORDINALS: Record<string, string> = {
  one: 'first',
  two: 'second',
  three: 'third',
  five: 'fifth',
  eight: 'eighth',
  nine: 'ninth',
  twelve: 'twelfth',
};

const ZEROS = new Set(['o', 'oh', 'zero']);
const ONES = new Map(ONE_TO_NINETEEN.map((name, i) => [name, i + 1]));
const TENS = new Map(TENS_NAMES.map((name, i) => [name, 20 + 10 * i]));
const MULTIPLIERS = new Map<string, bigint>([
  ['hundred', 100n],
  ...MULTIPLIER_NAMES.map((name, i): [string, bigint] => [name, 1000n ** BigInt(i + 1)]),
]);

const ordinalSuffix = (n: number): string => (n === 1 ? 'st' : n === 2 ? 'nd' : n === 3 ? 'rd' : 'th');
/** "sixes" -> [6, 's'], "third" -> [3, 'rd']: the number is written out at once, with its suffix. */
const ONES_SUFFIXED = new Map<string, [number, string]>([
  ['zeroth', [0, 'th']],
  ...ONE_TO_NINETEEN.flatMap((name, i): [string, [number, string]][] => [
    [name === 'six' ? 'sixes' : `${name}s`, [i + 1, 's']],
    [IRREGULAR_ORDINALS[name] ?? `${name}th`, [i + 1, ordinalSuffix(i + 1)]],
  ]),
]);
const TENS_SUFFIXED = new Map<string, [number, string]>(
  TENS_NAMES.flatMap((name, i): [string, [number, string]][] => [
    [name.replace(/y$/, 'ies'), [20 + 10 * i, 's']],
    [name.replace(/y$/, 'ieth'), [20 + 10 * i, 'th']],
  ]),
);
const MULTIPLIERS_SUFFIXED = new Map<string, [bigint, string]>(
  [...MULTIPLIERS].flatMap(([name, n]): [string, [bigint, string]][] => [
    [`${name}s`, [n, 's']],
    [`${name}th`, [n, 'th']],
  ]),
);
/** Signs before a number, currencies after it (written in front: "5 dollars" -> "$5"), and percent after it. */
const PRECEDING_PREFIXERS = new Map([
  ['minus', '-'],
  ['negative', '-'],
  ['plus', '+'],
  ['positive', '+'],
]);
const FOLLOWING_PREFIXERS = new Map([
  ['pound', '£'],
  ['pounds', '£'],
  ['euro', '€'],
  ['euros', '€'],
  ['dollar', '$'],
  ['dollars', '$'],
  ['cent', '¢'],
  ['cents', '¢'],
]);
const SPECIALS = new Set(['and', 'double', 'triple', 'point']);
const PREFIX_SYMBOLS = new Set([...PRECEDING_PREFIXERS.values(), ...FOLLOWING_PREFIXERS.values()]);

const NUMBER_WORDS = new Set<string>([
  ...ZEROS,
  ...ONES.keys(),
  ...ONES_SUFFIXED.keys(),
  ...TENS.keys(),
  ...TENS_SUFFIXED.keys(),
  ...MULTIPLIERS.keys(),
  ...MULTIPLIERS_SUFFIXED.keys(),
  ...PRECEDING_PREFIXERS.keys(),
  ...FOLLOWING_PREFIXERS.keys(),
  'per',
  'percent',
  ...SPECIALS,
]);
const DECIMAL_WORDS = new Set<string>([...ZEROS, ...ONES.keys(), ...TENS.keys()]);
const ARABIC = /^\d+(\.\d+)?$/;

/** `digits` ("12", "1.5", "3.") times `multiplier` when that is a whole number. */
function scaled(digits: string, multiplier: bigint): bigint | null {
  const match = /^(\d*)(?:\.(\d*))?$/.exec(digits);
  if (!match || digits === '.' || digits === '') return null;
  const decimals = match[2] ?? '';
  const numerator = BigInt(`${match[1] ?? ''}${decimals}` || '0') * multiplier;
  const denominator = 10n ** BigInt(decimals.length);
  return numerator % denominator === 0n ? numerator / denominator : null;
}

/**
 * Appends a ones digit or a teen to what has been read: added where it fills a zero ("twenty" + "five"), else
 * juxtaposed.
 */
function withOnes(value: Value, ones: number, prev: string | undefined): bigint | string {
  if (value === null) return BigInt(ones);
  if (typeof value === 'string' || (prev !== undefined && ONES.has(prev))) {
    const digits = String(value);
    // "nineteen ninety" is the string "1990" already; "nine" replaces its last zero.
    if (prev !== undefined && TENS.has(prev) && ones < 10 && digits.endsWith('0'))
      return digits.slice(0, -1) + String(ones);
    return digits + String(ones);
  }
  const room = ones < 10 ? 10n : 100n;
  return value % room === 0n ? value + BigInt(ones) : String(value) + String(ones);
}

function withTens(value: Value, tens: number): bigint | string {
  if (value === null) return BigInt(tens);
  if (typeof value === 'string') return value + String(tens);
  return value % 100n === 0n ? value + BigInt(tens) : String(value) + String(tens);
}

/** "two thousand five" + "hundred": only the part below a thousand is multiplied. */
function timesMultiplier(value: bigint, multiplier: bigint): bigint {
  return (value / 1000n) * 1000n + (value % 1000n) * multiplier;
}

/** Turns runs of number words in `words` into digits; every other word passes through unchanged. */
function convertWords(words: readonly string[]): string[] {
  const out: string[] = [];
  let prefix: string | null = null;
  let value: Value = null;
  const emit = (result: bigint | string): void => {
    out.push((prefix ?? '') + String(result));
    prefix = null;
    value = null;
  };
  const flush = (): void => {
    if (value !== null) emit(value);
  };

  for (let i = 0; i < words.length; i++) {
    const prev = words[i - 1];
    const current = words[i] as string;
    const next = words[i + 1];
    const nextIsNumeric = next !== undefined && ARABIC.test(next);
    const nextCanBeNumber = nextIsNumeric || (next !== undefined && NUMBER_WORDS.has(next));
    const hasPrefix = PREFIX_SYMBOLS.has(current[0] ?? '');
    const bare = hasPrefix ? current.slice(1) : current;

    if (ARABIC.test(bare)) {
      if (typeof value === 'string' && value.endsWith('.')) {
        // digits after "point": decimals, or the next part of an address like 192.168
        value += current;
        continue;
      }
      flush();
      if (hasPrefix) prefix = current[0] as string;
      value = bare.includes('.') ? bare : BigInt(bare);
    } else if (!NUMBER_WORDS.has(current)) {
      flush();
      emit(current);
    } else if (ZEROS.has(current)) {
      value = `${value ?? ''}0`;
    } else if (ONES.has(current)) {
      value = withOnes(value, ONES.get(current) as number, prev);
    } else if (ONES_SUFFIXED.has(current)) {
      const [ones, suffix] = ONES_SUFFIXED.get(current) as [number, string];
      emit(String(withOnes(value, ones, prev)) + suffix);
    } else if (TENS.has(current)) {
      value = withTens(value, TENS.get(current) as number);
    } else if (TENS_SUFFIXED.has(current)) {
      const [tens, suffix] = TENS_SUFFIXED.get(current) as [number, string];
      emit(String(withTens(value, tens)) + suffix);
    } else if (MULTIPLIERS.has(current)) {
      const multiplier = MULTIPLIERS.get(current) as bigint;
      if (value === null) value = multiplier;
      else if (typeof value === 'bigint' && value !== 0n) value = timesMultiplier(value, multiplier);
      else {
        const product = scaled(String(value), multiplier);
        if (product === null) {
          flush();
          value = multiplier;
        } else value = product;
      }
    } else if (MULTIPLIERS_SUFFIXED.has(current)) {
      const [multiplier, suffix] = MULTIPLIERS_SUFFIXED.get(current) as [bigint, string];
      if (value === null) emit(String(multiplier) + suffix);
      else if (typeof value === 'bigint') emit(String(timesMultiplier(value, multiplier)) + suffix);
      else {
        const product = scaled(value, multiplier);
        if (product === null) {
          flush();
          emit(String(multiplier) + suffix);
        } else emit(String(product) + suffix);
      }
    } else if (PRECEDING_PREFIXERS.has(current)) {
      flush();
      if (nextCanBeNumber) prefix = PRECEDING_PREFIXERS.get(current) as string;
      else emit(current);
    } else if (FOLLOWING_PREFIXERS.has(current)) {
      if (value === null) emit(current);
      else {
        prefix = FOLLOWING_PREFIXERS.get(current) as string;
        emit(value);
      }
    } else if (current === 'percent' || current === 'per') {
      if (value === null) emit(current);
      else if (current === 'percent') emit(`${value}%`);
      else if (next === 'cent') {
        emit(`${value}%`);
        i++;
      } else {
        flush();
        emit(current);
      }
    } else if (!nextCanBeNumber) {
      // "and", "double", "triple" and "point" are only part of a number when one follows
      flush();
      emit(current);
    } else if (current === 'and') {
      // "one hundred and five" is 105; any other "and" separates numbers
      if (prev === undefined || !MULTIPLIERS.has(prev)) {
        flush();
        emit(current);
      }
    } else if ((current === 'double' || current === 'triple') && (ONES.has(next ?? '') || ZEROS.has(next ?? ''))) {
      const digit = String(ONES.get(next ?? '') ?? 0);
      value = `${value ?? ''}${digit.repeat(current === 'double' ? 2 : 3)}`;
      i++;
    } else if (current === 'point' && (nextIsNumeric || DECIMAL_WORDS.has(next ?? ''))) {
      value = `${value ?? ''}.`;
    } else {
      flush();
      emit(current);
    }
  }
  flush();
  return out;
}

/**
 * "one and a half" -> "one point five"; digits split from letters, except ordinal and plural endings ("21st", "1960s").
 */
function preprocess(text: string): string {
  const parts = text.split(/\band\s+a\s+half\b/);
  const joined = parts
    .map((part, i) => {
      if (i === parts.length - 1) return part;
      const last = part.trim().split(/\s+/).pop() ?? '';
      return `${part} ${DECIMAL_WORDS.has(last) || MULTIPLIERS.has(last) ? 'point five' : 'and a half'}`;
    })
    .join(' ');
  return joined
    .replace(/([a-z])([0-9])/g, '$1 $2')
    .replace(/([0-9])([a-z])/g, '$1 $2')
    .replace(/([0-9])\s+(st|nd|rd|th|s)\b/g, '$1$2');
}

/** "$2 and ¢7" -> "$2.07", "$0.07" -> "¢7", and a lone 1 (not 1.5 or 0.1) written "one" again, for readability. */
function postprocess(text: string): string {
  return text
    .replace(
      /([€£$])([0-9]+) (?:and )?¢([0-9]{1,2})\b/g,
      (_m, currency: string, units: string, cents: string) => `${currency}${units}.${cents.padStart(2, '0')}`,
    )
    .replace(/[€£$]0\.([0-9]{1,2})\b/g, (_m, cents: string) => `¢${Number(cents)}`)
    .replace(/(?<!\d\.)\b1(s?)\b(?!\.\d)/g, 'one$1');
}

/**
 * Spelled-out numbers in lower-case, punctuation-free `text` written as digits, with currency symbols in front and
 * ordinal or plural endings kept: "two thousand and twenty five dollars" -> "$2025", "the nineteen sixties" -> "the
 * 1960s".
 */
export function normalizeNumbers(text: string): string {
  return postprocess(
    convertWords(
      preprocess(text)
        .split(/\s+/)
        .filter((word) => word !== ''),
    ).join(' '),
  );
}
