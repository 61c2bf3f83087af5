import type { TranscriptionResult } from '../types.js';
import type { TranscriptionOutcome } from './types.js';

/** Reduces an engine result to what the streaming filters use, dropping the per-token detail. */
export function toOutcome(result: TranscriptionResult): TranscriptionOutcome {
  return {
    text: result.text,
    language: result.language,
    segments: result.segments.map((segment) => ({
      text: segment.text,
      startMs: segment.startMs,
      endMs: segment.endMs,
      noSpeechProb: segment.noSpeechProb,
      avgLogProb: segment.tokens.length === 0 ? 0 : segment.tokens.reduce((sum, token) => sum + Math.log(Math.max(token.p, 1e-10)), 0) / segment.tokens.length,
    })),
    timings: result.timings,
  };
}
