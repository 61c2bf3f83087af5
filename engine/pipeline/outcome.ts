import type { TranscriptionResult } from '../types.js';
import type { TranscriptionOutcome } from './types.js';

/** Reduces an engine result to what the pipeline uses: text, per-segment confidence, and tokens with their times. */
export function toOutcome(result: TranscriptionResult): TranscriptionOutcome {
  return {
    text: result.text,
    language: result.language,
    segments: result.segments.map((segment) => ({
      text: segment.text,
      startMs: segment.startMs,
      endMs: segment.endMs,
      noSpeechProb: segment.noSpeechProb,
      avgLogProb:
        segment.tokens.length === 0
          ? 0
          : segment.tokens.reduce((sum, token) => sum + Math.log(Math.max(token.p, 1e-10)), 0) / segment.tokens.length,
      tokens: segment.tokens.map((token) =>
        token.timeMs === undefined
          ? { text: token.text, p: token.p }
          : { text: token.text, p: token.p, timeMs: token.timeMs },
      ),
    })),
    timings: result.timings,
  };
}
