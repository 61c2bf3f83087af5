/**
 * Settings of the drop-in protocols (Deepgram, AssemblyAI) in the forms they arrive in: query-string values parsed
 * strictly (a bad one refuses the upgrade with its name and what it takes) and vocabulary lists made into a prompt.
 */
import { ProtocolError, checkPrompt, excerpt } from './errors.js';

/** Sample rates of raw PCM the drop-in protocols accept (resampled to 16 kHz). */
export const MIN_SAMPLE_RATE = 8000;
export const MAX_SAMPLE_RATE = 192000;
/** Interleaved channels the drop-in protocols accept (averaged to mono). */
export const MAX_CHANNELS = 8;
/** Headerless encodings the drop-in protocols name (each in its own words, parsed to these). */
export type RawAudioEncoding = 'linear16' | 'linear32' | 'mulaw' | 'alaw';
export type AudioContainer = 'wav' | 'ogg' | 'webm';

/** What a connection's audio is: headerless as declared, or in a container found from the stream's first bytes. */
export type AudioFormat =
  | { kind: 'raw'; encoding: RawAudioEncoding; sampleRate: number; channels: number }
  | { kind: 'container'; accepted: readonly AudioContainer[] };

/** Longest duration a setting may name: an hour, far past any the server uses. */
const MAX_MS = 3_600_000;

/**
 * A parameter's one value, or null when it is absent. Given twice it is refused: which value counts would be a guess.
 */
export function singleParam(query: URLSearchParams, name: string): string | null {
  const values = query.getAll(name);
  if (values.length > 1) throw new ProtocolError('bad_option', `${name} is given ${values.length} times; give it once`);
  return values[0] ?? null;
}

/** A whole number in [min, max], or undefined when the parameter is absent. */
export function integerParam(query: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const value = singleParam(query, name);
  if (value === null) return undefined;
  const number = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(number >= min && number <= max))
    throw new ProtocolError(
      'bad_option',
      `${name} must be a whole number from ${min} to ${max}; got ${excerpt(value)}`,
    );
  return number;
}

/** Milliseconds as a whole number (the server holds it to its own range), or undefined when absent. */
export function millisecondsParam(query: URLSearchParams, name: string): number | undefined {
  return integerParam(query, name, 0, MAX_MS);
}

/** `true` or `false` (any case), or undefined when the parameter is absent. */
export function booleanParam(query: URLSearchParams, name: string): boolean | undefined {
  const value = singleParam(query, name);
  if (value === null) return undefined;
  const lower = value.toLowerCase();
  if (lower === 'true' || lower === 'false') return lower === 'true';
  throw new ProtocolError('bad_option', `${name} must be true or false; got ${excerpt(value)}`);
}

/**
 * Vocabulary terms (names, jargon) as Whisper's prompt: a list, so the decoder expects them; bounded like any prompt.
 */
export function termsPrompt(terms: readonly string[]): string {
  return checkPrompt(
    terms
      .map((term) => term.trim())
      .filter((term) => term !== '')
      .join(', '),
  );
}
