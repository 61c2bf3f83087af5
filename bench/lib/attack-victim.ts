/**
 * The victim: an ordinary client streaming fixtures/speech/jfk.wav at real-time pace in 20 ms frames while an
 * attack runs, timed as bench:stream times clients (latency-client.ts), and judged against the latency the
 * server promises: partial p95 < 500 ms, final p95 < 2 s, and partials kept (see judgeVictim for a busy machine).
 */
import { runClient } from './latency-client.js';
import { buildTimeline, loadClips, type Timeline } from './speech-timeline.js';
import { latencyStats, type LatencyStats } from './stats.js';
import { broke, degraded, fmt, held, type Check } from './attack-scenario.js';

export interface VictimResult {
  partial: LatencyStats;
  final: LatencyStats;
  errors: string[];
}

/** Longest wait for the victim's last finals after its audio ends. */
const DRAIN_MS = 20_000;
/** The latency targets (README, docs/BENCHMARKS.md). */
const VICTIM = { partialP95Ms: 500, finalP95Ms: 2000 } as const;

let timeline: Promise<Timeline> | null = null;

/** jfk.wav once, followed by a pause; its speech regions come from Silero in this process. */
function victimTimeline(): Promise<Timeline> {
  timeline ??= loadClips(['jfk.wav']).then((clips) => buildTimeline(clips, 0, 11));
  return timeline;
}

/** Streams the victim's audio to `url`, ends the stream and waits for its finals. */
export async function runVictim(url: string): Promise<VictimResult> {
  const result = await runClient(url, await victimTimeline(), DRAIN_MS);
  return {
    partial: latencyStats(result.partials.map((p) => p.ms)),
    final: latencyStats(result.finals.map((f) => f.ms)),
    errors: result.errors,
  };
}

export function victimText(v: VictimResult): string {
  return (
    `victim partial p50/p95 ${fmt(v.partial.p50)}/${fmt(v.partial.p95)} ms (n ${v.partial.count}), final ` +
    `p50/p95 ${fmt(v.final.p50)}/${fmt(v.final.p95)} ms (n ${v.final.count})`
  );
}

/** For attacks on the process rather than on capacity: the victim's stream still works, whatever its latency. */
export function judgeVictimWorks(v: VictimResult): Check {
  const cutOff = v.errors.find(
    (e) => e.startsWith('connect:') || e.startsWith('closed with') || e.startsWith('finals still missing'),
  );
  if (cutOff) return broke(`victim cut off (${cutOff})`);
  if (v.final.count === 0) return broke(`victim got no finals (${victimText(v)})`);
  return held('victim stream still works');
}

/**
 * The p95s the victim is held to: the targets; or, where this machine misses them with no attack at all, twice what
 * the victim gets alone (no partial latency at all when it got no partials alone).
 */
function allowance(baseline: VictimResult | null): { partialMs: number; finalMs: number; note: string } {
  const alone = baseline && baseline.final.count > 0 ? baseline : null;
  const busy =
    alone !== null &&
    (alone.final.p95 >= VICTIM.finalP95Ms || alone.partial.count === 0 || alone.partial.p95 >= VICTIM.partialP95Ms);
  if (!alone || !busy) return { partialMs: VICTIM.partialP95Ms, finalMs: VICTIM.finalP95Ms, note: '' };
  const partialMs =
    alone.partial.count > 0 ? Math.max(VICTIM.partialP95Ms, 2 * alone.partial.p95) : Number.POSITIVE_INFINITY;
  const finalMs = Math.max(VICTIM.finalP95Ms, 2 * alone.final.p95);
  return {
    partialMs,
    finalMs,
    note:
      '; this machine misses the targets unattacked, so held means within twice the victim alone (p95 ' +
      `${Number.isFinite(partialMs) ? partialMs : 'any'}/${finalMs} ms)`,
  };
}

/**
 * Held: partial and final p95 within the targets (or within twice the victim alone, on a machine too busy to meet
 * them unattacked), at least half the partials it gets alone, no errors. Degraded: within twice that with some
 * partials. Broke: anything worse, or the victim cut off.
 */
export function judgeVictim(v: VictimResult, baseline: VictimResult | null): Check {
  const figures = victimText(v);
  const works = judgeVictimWorks(v);
  if (works.verdict !== 'held') return works;
  const expectedPartials = baseline ? baseline.partial.count : 1;
  if (expectedPartials > 0 && v.partial.count === 0) return broke(`victim lost all partials (${figures})`);
  const fewPartials = v.partial.count < expectedPartials / 2;
  const partialP95 = v.partial.count === 0 ? 0 : v.partial.p95;
  const allowed = allowance(baseline);
  if (partialP95 < allowed.partialMs && v.final.p95 < allowed.finalMs && !fewPartials && v.errors.length === 0)
    return held(`victim unaffected (${figures}${allowed.note})`);
  if (partialP95 < 2 * allowed.partialMs && v.final.p95 < 2 * allowed.finalMs) {
    const why = [
      fewPartials ? `${v.partial.count} partials vs ${expectedPartials} alone` : '',
      v.errors.length > 0 ? `errors: ${v.errors.slice(0, 2).join(', ')}` : '',
    ].filter((s) => s !== '');
    return degraded(`victim slowed (${figures}${why.length > 0 ? `; ${why.join('; ')}` : ''}${allowed.note})`);
  }
  return broke(`victim lost its latency (${figures}${allowed.note})`);
}
