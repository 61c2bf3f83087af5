/**
 * The system programs some tests need besides Node, cmake and g++: where each is, or the one-line reason a test
 * skips without it. The suite's summary (test/run.ts) counts these skips by program; .ci/run installs them all.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Each program and the Debian package that installs it. */
const PACKAGES = { haproxy: 'haproxy', 'redis-server': 'redis-server', chromium: 'chromium' } as const;

export type SystemProgram = keyof typeof PACKAGES;

/** The prefix of every such skip reason, which the suite's summary looks for. */
export const NEEDS = 'needs ';

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** The program's path: on PATH, else in /usr/sbin or /usr/bin (Debian's haproxy is in /usr/sbin, off many a PATH). */
export function programPath(name: SystemProgram): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter((dir) => dir !== ''), '/usr/sbin', '/usr/bin'];
  return dirs.map((dir) => join(dir, name)).find(executable);
}

/** The one-line reason of a test skipped for want of `absent`, naming what to install. */
export function skipReason(absent: SystemProgram[]): string {
  const packages = absent.map((name) => PACKAGES[name]).join(' ');
  const them = absent.length === 1 ? 'it' : 'them';
  return `${NEEDS}${absent.join(', ')}: not installed (apt-get install ${packages}; .ci/run installs ${them})`;
}

/** The skip reason of a test that needs `programs`, or false when they are all there. */
export function needs(...programs: SystemProgram[]): string | false {
  const absent = programs.filter((name) => programPath(name) === undefined);
  return absent.length > 0 && skipReason(absent);
}
