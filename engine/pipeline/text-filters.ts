import type { OutcomeSegment, TokenProbability, TranscriptionOutcome } from './types.js';

/** whisper.cpp's own silence rule: likely no speech and a low-confidence decode. */
const NO_SPEECH_PROB = 0.6;
const LOW_CONFIDENCE_LOGPROB = -1;
/** Weaker evidence that suffices when the whole text is a phrase Whisper is known to invent on non-speech. */
const HALLUCINATION_NO_SPEECH_PROB = 0.2;
const HALLUCINATION_LOGPROB = -0.8;
const HALLUCINATIONS = new Set([
  'thank you',
  'thank you very much',
  'thanks for watching',
  'thank you for watching',
  'thanks for listening',
  'please subscribe',
  'subscribe to my channel',
  'you',
  'bye',
  'so',
  'okay',
  'subtitles by the amara org community',
]);
/** An n-gram of this many words or fewer repeated back to back this often is a decoder loop, not speech. */
const MAX_LOOP_WORDS = 8;
const LOOP_REPEATS_SINGLE_WORD = 4;
const LOOP_REPEATS_PHRASE = 3;

// Whisper marks non-speech as [BLANK_AUDIO], (music), *laughs* or with music notes.
const NON_SPEECH = /\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|[♪♫♬♩]+/gu;
// Words keep letters, combining marks, digits, the zero-width (non-)joiners some scripts spell with, and
// apostrophes inside them (don't, l’homme); every other character (punctuation, symbols such as $ % + =, stray
// control characters) is dropped.
const PUNCTUATION = /(?<![\p{L}\p{N}])['’]|['’](?![\p{L}\p{N}])|[^\p{L}\p{M}\p{N}\s'’\u200c\u200d]/gu;

const squeeze = (text: string): string => text.replace(/\s+/gu, ' ').trim();

/** Lower-case words without punctuation, for comparing texts. */
const normalise = (text: string): string => squeeze(text.replace(PUNCTUATION, ' ')).toLocaleLowerCase();

export function removeNonSpeech(text: string): string {
  return squeeze(text.replace(NON_SPEECH, ' '));
}

/** Partial style: no punctuation or symbols except apostrophes inside words. */
export function stripPunctuation(text: string): string {
  return squeeze(text.replace(PUNCTUATION, ' '));
}

/** Keeps one copy of any word or short phrase that repeats back to back like a decoder stuck in a loop. */
export function collapseRepetitions(text: string): string {
  const words = text.split(' ');
  const keys = words.map(normalise);
  for (let n = 1; n <= MAX_LOOP_WORDS; n++) {
    const minRepeats = n === 1 ? LOOP_REPEATS_SINGLE_WORD : LOOP_REPEATS_PHRASE;
    for (let i = 0; i + n * minRepeats <= keys.length; i++) {
      let repeats = 1;
      while (i + (repeats + 1) * n <= keys.length && sameRun(keys, i, i + repeats * n, n)) repeats++;
      if (repeats >= minRepeats) {
        words.splice(i + n, (repeats - 1) * n);
        keys.splice(i + n, (repeats - 1) * n);
      }
    }
  }
  return words.join(' ');
}

function sameRun(keys: string[], a: number, b: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (keys[a + k] !== keys[b + k]) return false;
  return true;
}

function isSilence(segment: OutcomeSegment): boolean {
  if (segment.noSpeechProb > NO_SPEECH_PROB && segment.avgLogProb < LOW_CONFIDENCE_LOGPROB) return true;
  const weak = segment.noSpeechProb > HALLUCINATION_NO_SPEECH_PROB || segment.avgLogProb < HALLUCINATION_LOGPROB;
  return weak && HALLUCINATIONS.has(normalise(segment.text));
}

/** The text worth showing for a transcription: silence, non-speech marks and decoder loops removed; may be ''. */
export function speechText(outcome: TranscriptionOutcome): string {
  const kept = outcome.segments
    .filter((segment) => !isSilence(segment))
    .map((segment) => removeNonSpeech(segment.text));
  return collapseRepetitions(squeeze(kept.join(' ')));
}

/** The text tokens of the segments speechText keeps, with their probabilities. */
export function speechTokens(outcome: TranscriptionOutcome): TokenProbability[] {
  return outcome.segments
    .filter((segment) => !isSilence(segment))
    .flatMap((segment) => segment.tokens.map(({ text, p }) => ({ text, p })));
}
