import type { EngineErrorCode } from './types.js';

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

const CODES: ReadonlySet<string> = new Set<EngineErrorCode>([
  'MODEL_FILE',
  'MODEL_LOAD',
  'FREED',
  'BUSY',
  'ABORTED',
  'NOT_MULTILINGUAL',
  'INFERENCE_FAILED',
  'ADDON_MISSING',
  'BAD_OPTIONS',
]);

const isCode = (code: unknown): code is EngineErrorCode => typeof code === 'string' && CODES.has(code);

/** The engine code of anything thrown by the engine or the addon: its own, or BAD_OPTIONS for a refused argument. */
export function engineErrorCode(error: unknown): EngineErrorCode {
  const code: unknown = error instanceof Error ? Reflect.get(error, 'code') : undefined;
  if (isCode(code)) return code;
  return error instanceof TypeError || error instanceof RangeError ? 'BAD_OPTIONS' : 'INFERENCE_FAILED';
}
