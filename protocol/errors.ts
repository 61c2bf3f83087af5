/** The error codes every protocol reports (each in its own shape), and the one error type parsers throw. */

/** Stable codes of errors sent to clients; docs/PROTOCOL.md lists what each means. */
export type ErrorCode =
  | 'bad_json'
  | 'bad_message'
  | 'unknown_type'
  | 'odd_frame_length'
  | 'frame_too_large'
  /** Audio in a container that cannot be read (unknown container, corrupt stream); the stream cannot go on. */
  | 'bad_audio'
  | 'internal_error'
  | 'resume_failed'
  | 'overloaded'
  | 'not_started'
  | 'already_started'
  | 'too_many_sessions'
  | 'store_unavailable'
  | 'prompt_too_long'
  | 'rate_limited'
  | 'unknown_language'
  | 'unsupported_language'
  | 'session_ended'
  | 'transcription_failed'
  | 'bad_option';

export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Error replies quote a client's input at most this long, so a huge bad message cannot come back as a huge reply. */
export const EXCERPT_CHARS = 40;

/** A short, JSON-quoted excerpt of a value a client sent, for error messages. */
export function excerpt(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return JSON.stringify(text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text);
}

/**
 * Longest vocabulary prompt, in UTF-8 bytes, which is what it costs: the engine keeps a prompt's last 1 KB, about the
 * 224 tokens of English Whisper reads, and text of other scripts takes more bytes (and tokens) a character.
 */
export const MAX_PROMPT_BYTES = 1024;
/**
 * Longest run of a prompt without whitespace, in UTF-8 bytes. whisper.cpp's tokenizer, run on every transcription,
 * costs the square of a word's length: 1 ms at 256 bytes, 16 ms at 1,024 and 69 ms at 2,048 (tiny.en, 2 cores).
 * 256 bytes are 85 CJK characters without a space.
 */
export const MAX_PROMPT_WORD_BYTES = 256;
/** No prompt checkPrompt accepts is longer than this, in characters. */
export const MAX_PROMPT_CHARS = MAX_PROMPT_BYTES;

/**
 * Checks a client's prompt; throws `prompt_too_long` past MAX_PROMPT_BYTES, or with a word past MAX_PROMPT_WORD_BYTES.
 */
export function checkPrompt(prompt: string): string {
  const bytes = Buffer.byteLength(prompt, 'utf8');
  if (bytes > MAX_PROMPT_BYTES) {
    throw new ProtocolError(
      'prompt_too_long',
      `prompts may hold at most ${MAX_PROMPT_BYTES} bytes of UTF-8 (Whisper reads at most its last 224 tokens); ` +
        `got ${bytes}`,
    );
  }
  const longest = Math.max(0, ...prompt.split(/\s+/).map((word) => Buffer.byteLength(word, 'utf8')));
  if (longest > MAX_PROMPT_WORD_BYTES) {
    throw new ProtocolError(
      'prompt_too_long',
      `a prompt's words may hold at most ${MAX_PROMPT_WORD_BYTES} bytes of UTF-8 each (separate terms with ` +
        `spaces); one has ${longest}`,
    );
  }
  return prompt;
}

/** Parses a text message into a JSON object; throws ProtocolError otherwise. */
export function parseObject(text: string, hint = 'text messages must be JSON objects'): Record<string, unknown> {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    throw new ProtocolError('bad_json', hint);
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw new ProtocolError('bad_message', 'text messages must be JSON objects');
  }
  return Object.fromEntries(Object.entries(message));
}
