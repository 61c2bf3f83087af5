/** A child process whose output lines a test can wait on, stopped by signal and awaited; it never outlives the test. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import t from 'tap';
import { WAIT_MS, described, within, type WaitOptions } from '../../bench/lib/wait.js';

/** util-linux's setpriv, on every Debian: it asks the kernel to SIGKILL the child when the test process dies. */
const SETPRIV = '/usr/bin/setpriv';
const tieable = process.platform === 'linux' && existsSync(SETPRIV);

/**
 * `command` and `args` wrapped so that the process dies with the test process however that ends (a crash, tap's
 * timeout kill, SIGKILL), where teardowns never run. setpriv execs the command, so the pid is the command's own.
 */
export function tiedToTest(command: string, args: string[]): [string, string[]] {
  return tieable ? [SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, args];
}

/** Spawns `command` tied to the test process (see tiedToTest). */
export function spawnTied(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const [file, argv] = tiedToTest(command, args);
  return spawn(file, argv, options);
}

/**
 * Children still running. Once the file's tests are done (passed or failed) they are killed, or their open pipes
 * would keep the test process alive until tap's timeout; and on exit, for a crash where setpriv is not there.
 */
const running = new Set<ChildProcess>();
const killAll = (): void => {
  for (const child of running) child.kill('SIGKILL');
};
t.teardown(killAll);
process.on('exit', killAll);

export class ChildRun {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  private readonly child: ChildProcess;
  /** Why it could not start (e.g. ENOENT), once that is known. */
  private spawnError: Error | null = null;

  constructor(
    readonly command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawnTied(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(this.child);
    this.exited = new Promise<number | null>((resolve) => {
      this.child.once('exit', (code) => resolve(code));
      // 'error' without a pid is a process that never started, and no 'exit' follows.
      this.child.once('error', (error) => {
        this.spawnError = error;
        if (this.child.pid === undefined) resolve(null);
      });
    }).finally(() => running.delete(this.child));
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        this.waiters = this.waiters.filter((waiter) => {
          if (!waiter.match(line)) return true;
          waiter.resolve(line);
          return false;
        });
      });
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.spawnError === null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * The first line, past or future, that `match` accepts; rejects if the process exits first, or after the
   * timeout, with its last lines of output.
   */
  waitForLine(match: (line: string) => boolean, options: WaitOptions = {}): Promise<string> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    const what = options.what ?? `a line of ${this.command} matching ${described(match)}`;
    const line = new Promise<string>((resolve, reject) => {
      this.waiters.push({ match, resolve });
      void this.exited.then((code) => {
        const why = this.spawnError ? `could not start (${this.spawnError.message})` : `exited (${code})`;
        reject(new Error(`${this.command} ${why} before ${what}; its output:\n${this.tail()}`));
      });
    });
    return within(line, what, options.timeoutMs ?? WAIT_MS, () => `its output:\n${this.tail()}`);
  }

  /** Sends `signal` (SIGSTOP freezes it the way a hung process is: connections stay open, nothing answers). */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Sends `signal` and resolves once the process has exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }

  private tail(): string {
    return this.lines.slice(-40).join('\n') || '(none)';
  }
}
