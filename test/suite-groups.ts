/**
 * Which test files `npm test` runs side by side: those that mostly wait (on child processes, sockets, the clock) and
 * so do not compete for the cores. Every other file, a new one too, runs alone, so that a CPU-bound test keeps the
 * machine to itself. Paths are relative to dist/test.
 */
export const LIGHT_FILES: readonly string[] = [];

/** How many light files run at once. */
export const LIGHT_JOBS = 4;
