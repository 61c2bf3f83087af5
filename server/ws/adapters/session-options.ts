/**
 * The session options a drop-in protocol asks for in its own terms, checked as the session would check them, so a
 * bad choice in an upgrade's query string refuses the upgrade (400) instead of failing the session after it opens.
 */
import {
  MAX_END_SILENCE_MS,
  MIN_END_SILENCE_MS,
  SessionError,
  type LanguagePolicy,
} from '../../../engine/pipeline/index.js';
import { ProtocolError } from '../../../protocol/errors.js';
import type { SessionOptions } from '../adapter.js';

export interface AskedOptions {
  language?: string | undefined;
  prompt?: string | undefined;
  /** Milliseconds of silence that end an utterance, any value; null: only the client ends them. */
  endpointingMs?: number | null | undefined;
}

/**
 * Language checked against the model; endpointing held to the range the session takes (Deepgram's default of 10 ms
 * becomes 100 ms: shorter silences split words at their stops).
 */
export function sessionOptions(asked: AskedOptions, languages: LanguagePolicy): SessionOptions {
  const options: SessionOptions = {};
  if (asked.language !== undefined) {
    try {
      options.language = languages.check(asked.language);
    } catch (error) {
      if (error instanceof SessionError) throw new ProtocolError(error.code, error.message);
      throw error;
    }
  }
  if (asked.prompt !== undefined) options.prompt = asked.prompt;
  if (asked.endpointingMs === null) options.endpointingMs = null;
  else if (asked.endpointingMs !== undefined)
    options.endpointingMs = Math.min(MAX_END_SILENCE_MS, Math.max(MIN_END_SILENCE_MS, asked.endpointingMs));
  return options;
}
