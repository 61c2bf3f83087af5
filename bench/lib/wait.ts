/**
 * Waits that give up: each fails after its own timeout with what it waited for and what it saw last, so a stuck
 * test reads as a named failure instead of a runner killing the file minutes later. Tests and benches share it.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** The default limit of one wait: far beyond any single event on a busy 2-core machine, far below tap's 600 s. */
export const WAIT_MS = 120_000;

export interface WaitOptions {
  /** What is awaited, for the failure message; by default the matcher's source text. */
  what?: string;
  /** Infinity waits for good (a benchmark under overload may legitimately take that long). */
  timeoutMs?: number;
}

export class WaitTimeout extends Error {
  override name = 'WaitTimeout';
}

const MAX_SHOWN = 600;

/** A value as one short line for a failure message. */
export function shown(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value instanceof Error) text = `${value.name}: ${value.message}`;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  text = text.replace(/\s+/g, ' ');
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}...` : text;
}

/** The source text of a matcher such as `(m) => m['type'] === 'final'`, which says what a wait was for. */
export const described = (match: (value: never) => unknown): string => shown(match.toString());

const gaveUp = (timeoutMs: number, what: string, last: string): string =>
  `gave up after ${timeoutMs} ms waiting for ${what}; saw last: ${last}`;

/** `promise`, or a WaitTimeout after `timeoutMs` naming `what` and, from `lastSeen`, what was seen by then. */
export function within<T>(
  promise: Promise<T>,
  what: string,
  timeoutMs: number = WAIT_MS,
  lastSeen: () => string = () => 'nothing',
): Promise<T> {
  if (!Number.isFinite(timeoutMs)) return promise;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WaitTimeout(gaveUp(timeoutMs, what, lastSeen()))), timeoutMs);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

export interface PollOptions extends WaitOptions {
  /** Pause between polls. */
  intervalMs?: number;
}

/** Calls `poll` until `done` holds for its value, which it returns; fails with the last value past the timeout. */
export async function pollUntil<T>(
  poll: () => Promise<T>,
  done: (value: T) => boolean,
  options: PollOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? WAIT_MS;
  const what = options.what ?? described(done);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await poll();
    if (done(value)) return value;
    if (performance.now() >= deadline) throw new WaitTimeout(gaveUp(timeoutMs, what, shown(value)));
    await sleep(options.intervalMs ?? 20);
  }
}
