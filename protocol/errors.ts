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
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return JSON.stringify(text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text);
}

/** Longest vocabulary prompt a client may send, in characters: Whisper reads at most its last 224 tokens. */
export const MAX_PROMPT_CHARS = 1024;

/** Checks a client's prompt; throws `prompt_too_long` past MAX_PROMPT_CHARS. */
export function checkPrompt(prompt: string): string {
  if (prompt.length > MAX_PROMPT_CHARS) {
    throw new ProtocolError('prompt_too_long', `prompts may hold at most ${MAX_PROMPT_CHARS} characters (Whisper reads at most its last 224 tokens); got ${prompt.length}`);
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
