import ERROR_CODES from './error-codes.json' with { type: 'json' };

/**
 * The engine's error codes and what each means: engine/error-codes.json, the one table of them; the C++ build makes
 * its constants from the same file (scripts/build-addon.mjs), and docs/ENGINE.md lists them.
 */
export const ENGINE_ERROR_CODES: Readonly<Record<EngineErrorCode, string>> = ERROR_CODES;

/** Codes on errors thrown or rejected by the engine. */
export type EngineErrorCode = keyof typeof ERROR_CODES;

/**
 * An engine failure with its stable `code`. The addon throws plain Errors with a `code` property; this class carries
 * the same across a thread boundary, where structured cloning would drop it.
 */
export class EngineError extends Error {
  override name = 'EngineError';

  constructor(
    readonly code: EngineErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const isCode = (code: unknown): code is EngineErrorCode => typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);

/** The engine code of anything thrown by the engine or the addon: its own, or BAD_OPTIONS for a refused argument. */
export function engineErrorCode(error: unknown): EngineErrorCode {
  const code: unknown = error instanceof Error ? Reflect.get(error, 'code') : undefined;
  if (isCode(code)) return code;
  return error instanceof TypeError || error instanceof RangeError ? 'BAD_OPTIONS' : 'INFERENCE_FAILED';
}
