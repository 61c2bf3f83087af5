/**
 * Attack bench: replays every attack of docs/SECURITY.md against fresh server processes on loopback, one row at a
 * time, each bounded in time and volume, and prints held / degraded / broke per row with what it measured.
 *
 *   node dist/bench/attack.js [--only 1,5] [--quick] [--json] [--sessions 1000] [--rss-cap-mb 4096]
 *
 * --only      rows to run (default: all)
 * --quick     smaller volumes and shorter floods
 * --json      one JSON document instead of the table
 * --sessions  detached sessions for row 9 (default 1000)
 * --rss-cap-mb  a server past this RSS is killed and its row is broke (protects the machine running the bench)
 */
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveModelPath } from '../engine/index.js';
import { configRows } from './lib/attack-config-rows.js';
import { httpRows } from './lib/attack-http-rows.js';
import { clock } from './lib/attack-monitor.js';
import { unchecked, type RowContext, type RowOutcome, type Scenario, type Verdict } from './lib/attack-scenario.js';
import { launchServer, type Launch, type ServerUnderTest } from './lib/attack-server.js';
import { limitsRows } from './lib/attack-limits-rows.js';
import { resumeRows } from './lib/attack-resume-rows.js';
import { sessionRows } from './lib/attack-session-rows.js';
import { socketIoRows } from './lib/attack-socketio-rows.js';
import { streamRows } from './lib/attack-stream-rows.js';
import { uploadRows } from './lib/attack-upload-rows.js';
import { runVictim, victimText, type VictimResult } from './lib/attack-victim.js';
import { describeMachine, machineInfo } from './lib/machine.js';

interface RowResult extends RowOutcome {
  row: number;
  title: string;
  seconds: number;
  /** The settings each of the row's servers got, beyond LOG_LEVEL=warn and HOST=127.0.0.1. */
  servers: string[];
  rerun: string;
}

interface Options {
  quick: boolean;
  sessions: number;
  rssCapBytes: number;
  baseline: VictimResult | null;
}

const SCENARIOS: Scenario[] = [
  ...httpRows,
  ...streamRows,
  ...sessionRows,
  ...configRows,
  ...uploadRows,
  ...resumeRows,
  ...limitsRows,
  ...socketIoRows,
].sort((a, b) => a.row - b.row);
const BASELINE_LIMIT_S = 60;

/** Errors no row caught (a socket's late 'error' after its row): noted on the running row, never fatal. */
const strays: string[] = [];
process.on('uncaughtException', (error) => strays.push(error.message));
process.on('unhandledRejection', (reason) => strays.push(reason instanceof Error ? reason.message : String(reason)));

/** A row's settings for the report, with secrets and long hash lists shortened. */
function envText(env: Record<string, string>): string {
  const shown = (name: string, value: string): string => {
    if (name === 'JWT_SECRET' && value.length >= 32) return '<32 random bytes>';
    if (name === 'API_KEY_HASHES') return `<${value.split(',').length} sha256 digests>`;
    return value.replace(/:[^:@/]*@/, ':***@');
  };
  return (
    Object.entries(env)
      .map(([name, value]) => `${name}=${shown(name, value)}`)
      .join(' ') || '(defaults)'
  );
}

async function runRow(scenario: Scenario, options: Options): Promise<RowResult> {
  const servers: ServerUnderTest[] = [];
  const cleanups: (() => void | Promise<void>)[] = [];
  const controller = new AbortController();
  const launch = async (env: Record<string, string>): Promise<Launch> => {
    const launched = await launchServer(env, options.rssCapBytes);
    if ('ready' in launched) servers.push(launched.ready);
    return launched;
  };
  const ctx: RowContext = {
    quick: options.quick,
    sessions: options.sessions,
    signal: controller.signal,
    baseline: options.baseline,
    launch,
    async startServer(env = {}) {
      const launched = await launch(env);
      if ('ready' in launched) return launched.ready;
      const why = launched.failed.signal ?? `exit ${launched.failed.code}`;
      throw new Error(
        `the server with ${envText(env)} did not start (${why}): ${launched.output.split('\n').slice(-2).join(' | ')}`,
      );
    },
    onCleanup: (cleanup) => cleanups.push(cleanup),
  };
  const started = clock();
  const strayCount = strays.length;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<RowOutcome>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          verdict: 'broke',
          reason: `not finished within the row's ${scenario.limitS} s limit; stopped`,
          summary: '',
          figures: {},
        }),
      scenario.limitS * 1000,
    );
  });
  const result = await Promise.race([
    scenario.run(ctx).catch((error: unknown) => unchecked(error instanceof Error ? error.message : String(error))),
    timedOut,
  ]);
  clearTimeout(timer);
  controller.abort();
  for (const cleanup of cleanups) await Promise.resolve(cleanup()).catch(() => undefined);
  await Promise.all(servers.map((server) => server.kill().catch(() => undefined)));
  const late = strays.slice(strayCount);
  return {
    ...result,
    reason:
      late.length > 0 ? `${result.reason} (bench: ${late.length} stray error(s), first: ${late[0]})` : result.reason,
    row: scenario.row,
    title: scenario.title,
    seconds: Math.round((clock() - started) / 100) / 10,
    servers: servers.map((server) => envText(server.env)),
    rerun: `node dist/bench/attack.js --only ${scenario.row}`,
  };
}

/** The victim alone on a fresh server: what "unaffected" looks like on this machine. */
async function runBaseline(rssCapBytes: number): Promise<VictimResult | null> {
  const launched = await launchServer({}, rssCapBytes);
  if (!('ready' in launched)) return null;
  try {
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      runVictim(launched.ready.ws('/stream')),
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), BASELINE_LIMIT_S * 1000))),
    ]);
    clearTimeout(timer);
    return result;
  } finally {
    await launched.ready.kill();
  }
}

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
const VERDICT_MARK: Record<Verdict, string> = { held: 'held', degraded: '**degraded**', broke: '**BROKE**' };

function printTable(results: RowResult[], baseline: VictimResult | null, command: string): void {
  const model = resolveModelPath();
  console.log(`machine: ${describeMachine(machineInfo())}`);
  console.log(`model: ${basename(model.path)}${model.synthetic ? ' (synthetic: real compute, nonsense text)' : ''}`);
  console.log(`command: ${command}`);
  console.log(`victim alone: ${baseline ? victimText(baseline) : 'not run'}`);
  console.log('\n| # | attack | verdict | figures | why |');
  console.log('| ---: | --- | --- | --- | --- |');
  for (const r of results)
    console.log(
      `| ${r.row} | ${cell(r.title)} | ${VERDICT_MARK[r.verdict]} | ${cell(r.summary)} | ${cell(r.reason)} |`,
    );
  const counts = (['held', 'degraded', 'broke'] as const)
    .map((v) => `${results.filter((r) => r.verdict === v).length} ${v}`)
    .join(', ');
  console.log(
    `\n${counts}. Server settings per row (on top of LOG_LEVEL=warn HOST=127.0.0.1), time taken; rerun one row ` +
      'with --only N:',
  );
  for (const r of results) console.log(`- ${r.row}: ${r.servers.join(' ; ') || '(no server)'} — ${r.seconds} s`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      sessions: { type: 'string', default: '1000' },
      'rss-cap-mb': { type: 'string', default: '4096' },
    },
    strict: true,
  });
  const only = values.only?.split(',').map((s) => Number(s.trim()));
  const unknown = only?.filter((row) => !SCENARIOS.some((s) => s.row === row));
  if (unknown && unknown.length > 0)
    throw new Error(`no such row: ${unknown.join(', ')} (rows are ${SCENARIOS.map((s) => s.row).join(', ')})`);
  const sessions = Number(values.sessions);
  const rssCapMb = Number(values['rss-cap-mb']);
  if (!Number.isInteger(sessions) || sessions < 1 || sessions > 5000)
    throw new Error('--sessions must be an integer from 1 to 5000');
  if (!Number.isFinite(rssCapMb) || rssCapMb < 256) throw new Error('--rss-cap-mb must be at least 256');
  const selected = SCENARIOS.filter((s) => !only || only.includes(s.row));
  const command = ['node dist/bench/attack.js', ...process.argv.slice(2)].join(' ');

  const options: Options = { quick: values.quick, sessions, rssCapBytes: rssCapMb * 2 ** 20, baseline: null };
  if (selected.some((s) => s.needsBaseline)) {
    process.stderr.write('victim alone (baseline)...\n');
    options.baseline = await runBaseline(options.rssCapBytes);
  }
  const results: RowResult[] = [];
  for (const scenario of selected) {
    process.stderr.write(`row ${scenario.row}: ${scenario.title}...\n`);
    const result = await runRow(scenario, options);
    process.stderr.write(`row ${scenario.row}: ${result.verdict} (${result.seconds} s) ${result.reason}\n`);
    results.push(result);
  }
  if (values.json)
    console.log(
      JSON.stringify({ machine: machineInfo(), command, baseline: options.baseline, rows: results }, null, 2),
    );
  else printTable(results, options.baseline, command);
}

try {
  await main();
  // Sockets of abandoned attacks may still be open; the report is out, so nothing is left to wait for.
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
