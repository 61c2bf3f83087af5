import { SessionError } from './types.js';

/** Longer than any language name a client could mean. */
const MAX_QUOTED = 24;

/** Which language requests a model can serve: whisper.cpp's codes (plus `auto`), and only English on `.en` models. */
export class LanguagePolicy {
  private readonly codes: ReadonlySet<string>;

  constructor(
    codes: Iterable<string>,
    readonly multilingual: boolean,
  ) {
    this.codes = new Set(codes);
  }

  /** The code to ask the engine for; throws a SessionError a client can be shown. */
  check(requested: string): string {
    const code = requested.trim().toLowerCase();
    if (code !== 'auto' && !this.codes.has(code)) {
      // Quoted short: the request may be a megabyte long, and the error goes back to whoever sent it.
      const shown = requested.length > MAX_QUOTED ? `${requested.slice(0, MAX_QUOTED)}…` : requested;
      throw new SessionError(
        'unknown_language',
        `unknown language code '${shown}'; use an ISO 639-1 code such as 'en' or 'te', or 'auto'`,
      );
    }
    if (!this.multilingual && code !== 'en' && code !== 'auto') {
      throw new SessionError(
        'unsupported_language',
        `the loaded model is English-only, so it cannot transcribe '${code}'; use 'en' or 'auto'`,
      );
    }
    return code;
  }
}
