/**
 * Gives memory back to the system after sessions end. Their audio buffers are garbage the moment they end, but V8
 * collects only under allocation pressure, which an idle server never feels: 1,000 ended sessions kept 140 MB of
 * ArrayBuffers and 220 MB of RSS for good. So, at most once per MEMORY_RETURN_MS after sessions end, a full
 * collection runs, and a moment later (backing stores are freed after the collection, partly off-thread) glibc's
 * malloc_trim hands the freed pages back. While sessions live, memory freed on the worker threads stays in their
 * arenas, resident, until trimmed: a trim every TRIM_EVERY_MS returns it too (it takes about a millisecond).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { native } from '../engine/index.js';

const MEMORY_RETURN_MS = 2000;
const TRIM_AFTER_COLLECTION_MS = 1000;
const TRIM_EVERY_MS = 30_000;

/**
 * V8's gc(), which a new context exposes once the flag is set (the process need not start with --expose-gc). Set
 * once, when this module loads: before the process starts any worker thread, since V8's flags are process-wide.
 */
setFlagsFromString('--expose-gc');
const collect: () => void = runInNewContext('gc');

export interface MemoryReturn {
  /** A session ended: its memory is given back within MEMORY_RETURN_MS plus a second. */
  released(): void;
  stop(): void;
}

export function memoryReturn(): MemoryReturn {
  let timer: NodeJS.Timeout | null = null;
  /** A session ended while a return was under way: its memory may have missed the collection. */
  let again = false;
  const after = (ms: number, run: () => void): void => {
    timer = setTimeout(run, ms);
    timer.unref();
  };
  const start = (): void =>
    after(MEMORY_RETURN_MS, () => {
      again = false;
      collect();
      after(TRIM_AFTER_COLLECTION_MS, () => {
        timer = null;
        native.trimMemory();
        if (again) start();
      });
    });
  const periodic = setInterval(() => native.trimMemory(), TRIM_EVERY_MS);
  periodic.unref();
  return {
    released: () => {
      if (timer) again = true;
      else start();
    },
    stop: () => {
      if (timer) clearTimeout(timer);
      clearInterval(periodic);
    },
  };
}
