/** The engine options of every transcription the pipeline asks for: one place, so a test can rebuild any of them. */
import type { TranscribeOptions } from '../types.js';
import { SAMPLE_RATE, type StreamSettings } from './types.js';

// Token caps bound the cost of a runaway decode. Whisper's byte-level BPE spends a few tokens per English word
// and many more per word in other scripts, so the cap per second of audio depends on the language.
const TOKENS_PER_SECOND_EN = 6;
const TOKENS_PER_SECOND_OTHER = 16;
const TOKEN_MARGIN = 8;
const MAX_TOKENS = 224;

export type DecodeSettings = Pick<StreamSettings, 'strategy' | 'threads' | 'finalBeamSize' | 'emulatedTokensPerSecond'>;

/**
 * Options for transcribing `samples` of audio in `language` (a code, or `auto` while the session has none) with
 * `prompt` before it. Partials decode greedily; finals with the configured beam. Both read one segment without
 * timestamp tokens and never retry at higher temperatures: streaming needs bounded, repeatable cost.
 */
export function decodeOptions(
  kind: 'partial' | 'final',
  language: string,
  samples: number,
  prompt: string,
  settings: DecodeSettings,
): TranscribeOptions {
  const seconds = samples / SAMPLE_RATE;
  const perSecond = language === 'en' ? TOKENS_PER_SECOND_EN : TOKENS_PER_SECOND_OTHER;
  const maxTokens = Math.min(MAX_TOKENS, Math.ceil(seconds * perSecond) + TOKEN_MARGIN);
  const options: TranscribeOptions = {
    language,
    audioCtx: settings.strategy === 'naive' ? 'full' : 'auto',
    maxTokens,
    singleSegment: true,
    noTimestamps: true,
    temperatureFallback: false,
    threads: settings.threads,
    beamSize: kind === 'final' ? settings.finalBeamSize : 1,
  };
  if (prompt !== '') options.prompt = prompt;
  if (settings.emulatedTokensPerSecond > 0)
    options.exactTokens = Math.min(maxTokens, Math.max(1, Math.round(seconds * settings.emulatedTokensPerSecond)));
  return options;
}
