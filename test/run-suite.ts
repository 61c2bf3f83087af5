/**
 * `npm test` and `npm run test:unit`: the test files through tap in the groups of test/suite-groups.ts (light ones
 * side by side, bursty ones a few at a time, the rest alone); then skips counted by missing program, and a check that
 * no process the tests started is still alive (found by a marker in the environment they pass on).
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { NEEDS } from './helpers/system-programs.js';
import { LIGHT_FILES, LIGHT_JOBS, PAIRED_FILES, PAIRED_JOBS } from './suite-groups.js';

/** Set in every test process and inherited by what it starts: how the leftover check knows the suite's own. */
const RUN_MARKER = 'WHISPER_STREAM_TEST_RUN';

const USAGE = `Usage: node dist/test/run-suite.js [--require-programs] [FILE|DIR...]

Runs the compiled test files (default: all of dist/test) through tap, then checks that none of the processes the
tests started is still running (it stops those that are, and fails).
  --require-programs  fail when a test was skipped for a missing system program (.ci/run, which installs them all)
`;

interface Summary {
  total: number;
  pass: number;
  fail: number;
  skip: number;
  todo: number;
}

interface Leftover {
  pid: number;
  command: string;
}

/** Every *.test.js under `path` (or `path` itself), helpers excluded. */
function testFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true }).flatMap((entry) => {
    const child = join(path, entry.name);
    if (entry.isDirectory()) return entry.name === 'helpers' ? [] : testFiles(child);
    return entry.name.endsWith('.test.js') ? [child] : [];
  });
}

/** tap's own summary line, `# { total: 25, pass: 24, skip: 1 }`, as numbers. */
function parseSummary(tap: string): Summary | null {
  const line = [...tap.matchAll(/^# \{ (total: \d+.*) \}$/gm)].at(-1)?.[1];
  if (line === undefined) return null;
  const count = (key: string): number => Number(new RegExp(`\\b${key}: (\\d+)`).exec(line)?.[1] ?? 0);
  return { total: count('total'), pass: count('pass'), fail: count('fail'), skip: count('skip'), todo: count('todo') };
}

/** How many tests each missing program made skip, from the skip reasons test/helpers/system-programs.ts writes. */
function skipsByProgram(tap: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [, reason] of tap.matchAll(/^\s*(?:ok \d+ - .*|1\.\.0) # SKIP (.*)$/gm)) {
    if (!reason?.startsWith(NEEDS)) continue;
    const programs = reason.slice(NEEDS.length, reason.indexOf(':')).split(', ');
    for (const program of programs) counts.set(program, (counts.get(program) ?? 0) + 1);
  }
  return counts;
}

/** Processes whose environment carries this run's marker: started, directly or not, by a test. */
function leftovers(marker: string): Leftover[] | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid);
  } catch {
    return null;
  }
  const found: Leftover[] = [];
  for (const pid of pids) {
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(marker)) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid: Number(pid), command });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/** `files` in test/suite-groups.ts's groups, each with how many of its files run at once. */
function grouped(files: string[]): { files: string[]; jobs: number }[] {
  const inGroup = (group: readonly string[]): ((file: string) => boolean) => {
    const paths = new Set(group.map((file) => resolve('dist/test', file)));
    return (file) => paths.has(resolve(file));
  };
  const light = inGroup(LIGHT_FILES);
  const paired = inGroup(PAIRED_FILES);
  return [
    { files: files.filter(light), jobs: LIGHT_JOBS },
    { files: files.filter(paired), jobs: PAIRED_JOBS },
    { files: files.filter((file) => !light(file) && !paired(file)), jobs: 1 },
  ];
}

/** Runs tap over `files`, `jobs` at a time; its report passes through, and its raw TAP comes back. */
async function runTap(files: string[], jobs: number, env: NodeJS.ProcessEnv): Promise<{ code: number; tap: string }> {
  const tapBin = join(createRequire(import.meta.url).resolve('tap/package.json'), '..', 'dist/esm/run.mjs');
  const args = [tapBin, `--jobs=${jobs}`];
  // On a terminal tap draws its own report and writes the raw TAP to a file; elsewhere the raw TAP is its report.
  const dir = mkdtempSync(join(tmpdir(), 'test-suite-'));
  const outputFile = join(dir, 'suite.tap');
  const terminal = process.stdout.isTTY === true;
  if (terminal) args.push(`--output-file=${outputFile}`);
  const stdio: StdioOptions = ['inherit', terminal ? 'inherit' : 'pipe', 'inherit'];
  const child = spawn(process.execPath, [...args, ...files], { env, stdio });
  let tap = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    tap += chunk;
    process.stdout.write(chunk);
  });
  const code = await new Promise<number>((done) => child.on('close', (exit) => done(exit ?? 1)));
  try {
    if (terminal) tap = readFileSync(outputFile, 'utf8');
  } catch {
    // No report: tap failed before any test ran, and said why.
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { code, tap };
}

/**
 * Each group in turn, in a tap run of its own (tap orders the files it is given itself): the light files side by
 * side, the paired PAIRED_JOBS at a time, the rest alone. Returns the worst exit code and every run's raw TAP.
 */
async function runGroups(files: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; taps: string[] }> {
  const runs = [];
  for (const group of grouped(files)) if (group.files.length > 0) runs.push(await runTap(group.files, group.jobs, env));
  return { code: Math.max(0, ...runs.map((run) => run.code)), taps: runs.map((run) => run.tap) };
}

/** Kills the leftovers and says which they were. */
function stopLeftovers(left: Leftover[]): string[] {
  for (const { pid } of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Exited meanwhile.
    }
  }
  return [
    `${left.length} process(es) started by the tests were still running (now killed):`,
    ...left.map(({ pid, command }) => `  pid ${pid}: ${command.slice(0, 200)}`),
  ];
}

const minutes = (ms: number): string => `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;

async function main(): Promise<number> {
  const config = {
    allowPositionals: true,
    options: {
      'require-programs': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  } as const;
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const started = performance.now();
  const paths = parsed.positionals.length > 0 ? parsed.positionals : ['dist/test'];
  const files = paths
    .flatMap(testFiles)
    .map((file) => relative('.', file))
    .sort();
  const runId = randomUUID();
  const { code, taps } = await runGroups(files, { ...process.env, [RUN_MARKER]: runId });

  const problems: string[] = code === 0 ? [] : [`tap exited with ${code}`];
  const lines: string[] = [];
  let tapSummary = '';
  const summaries = taps.map(parseSummary);
  if (summaries.every((summary) => summary !== null)) {
    const sum = (key: keyof Summary): number => summaries.reduce((n, summary) => n + (summary?.[key] ?? 0), 0);
    const [pass, fail, skip, todo] = [sum('pass'), sum('fail'), sum('skip'), sum('todo')];
    lines.push(`${files.length} files: ${pass} passed, ${fail} failed, ${skip} skipped, ${todo} todo`);
    // Every run's counts in tap's own form, last, for what reads tap's summary line (.ci/run).
    tapSummary = `# { total: ${sum('total')}, pass: ${pass}, fail: ${fail}, skip: ${skip}, todo: ${todo} }`;
  }
  // Named again here: on a terminal a later group's report may have scrolled an earlier one's failures away.
  const failed = [...taps.join('\n').matchAll(/^not ok \d+ - (\S+)/gm)].map((m) => m[1]);
  if (failed.length > 0) lines.push(`failed: ${failed.join(', ')}`);
  const skips = skipsByProgram(taps.join('\n'));
  if (skips.size > 0) {
    const counted = [...skips].map(([program, n]) => `${program} (${n} test${n === 1 ? '' : 's'})`).join(', ');
    lines.push(`skipped for want of ${counted}: apt-get install ${[...skips.keys()].join(' ')} to run them`);
    if (parsed.values['require-programs']) problems.push('tests skipped for missing programs (--require-programs)');
  }
  const left = leftovers(`${RUN_MARKER}=${runId}`);
  if (left === null) {
    lines.push('cannot look for leftover processes here (no /proc)');
  } else if (left.length > 0) {
    lines.push(...stopLeftovers(left));
    problems.push('processes outlived the tests that started them');
  } else {
    lines.push('no process started by the tests is still running');
  }
  const verdict = problems.length > 0 ? `; FAILED: ${problems.join('; ')}` : '';
  lines.push(`took ${minutes(performance.now() - started)}${verdict}`);
  process.stdout.write(`\n${lines.map((line) => `suite: ${line}`).join('\n')}\n${tapSummary ? `${tapSummary}\n` : ''}`);
  return problems.length > 0 ? 1 : 0;
}

process.exitCode = await main();
