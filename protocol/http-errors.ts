/**
 * The `error` of every JSON refusal the server answers plain HTTP requests and WebSocket upgrades with, and its status:
 * one table, so a code and its status cannot disagree and every one is in docs/PROTOCOL.md (Handshake answers).
 * The OpenAI-compatible /v1/ routes answer in OpenAI's own error shape instead.
 */
import type { ErrorCode } from './errors.js';

export const HTTP_ERRORS = {
  'bad request target': 400,
  /** A resume in the query string that lacks a part or has a malformed last_seq. */
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  'not found': 404,
  'method not allowed': 405,
  /** Too many failed resumes from one principal or address within a minute (Retry-After). */
  'too many failed resumes': 429,
  'internal error': 500,
  'authentication failed': 500,
  'not ready': 503,
  'shutting down': 503,
  'too many sessions': 503,
  'the server is at capacity': 503,
  'the session store does not answer': 503,
} as const satisfies Record<string, number>;

export type HttpErrorCode = keyof typeof HTTP_ERRORS;

/** A refusal's code: the table's, or (with 400) the wire code of a drop-in protocol's bad handshake parameter. */
export type RefusalCode = HttpErrorCode | ErrorCode;

/** The status that goes with `code`. */
export type StatusOf<C extends RefusalCode> = C extends HttpErrorCode ? (typeof HTTP_ERRORS)[C] : 400;

/** The JSON body of a refusal. */
export interface Refusal<C extends RefusalCode> {
  error: C;
  message?: string;
  /** With a 429 or 503 that the client may retry, as in its Retry-After header. */
  retry_after_s?: number;
}
