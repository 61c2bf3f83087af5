/**
 * What a client must see of a session that moved between instances: every seq once and in order, every segment's
 * partials then exactly one final, and finals covering all the speech sent.
 */
import type { Test } from 'tap';
import type { VadSegment } from '../../engine/index.js';
import type { Transcript } from '../../client/index.js';
import { EDGE_SLACK_MS } from './stream-checks.js';

/** Audio positions checked inside each speech region. */
const STEP_MS = 20;

export function checkContinuity(t: Test, transcripts: Transcript[], speech: VadSegment[], label: string): void {
  const seqs = transcripts.map((m) => m.seq);
  t.same(
    seqs,
    seqs.map((_, i) => i),
    `${label}: every seq arrived exactly once, in order`,
  );
  const finals = new Map<number, number>();
  let open: number | null = null;
  let ordered = true;
  for (const m of transcripts) {
    if (finals.has(m.segment_id) || (open !== null && m.segment_id !== open)) ordered = false;
    if (m.is_final) {
      finals.set(m.segment_id, (finals.get(m.segment_id) ?? 0) + 1);
      open = null;
    } else {
      open = m.segment_id;
    }
  }
  t.ok(ordered, `${label}: each segment is partials then exactly one final, before the next segment`);
  t.equal(open, null, `${label}: the last segment got its final`);
  const spans = transcripts.filter((m) => m.is_final);
  const uncovered: number[] = [];
  for (const region of speech) {
    for (let ms = region.startMs + EDGE_SLACK_MS; ms <= region.endMs - EDGE_SLACK_MS; ms += STEP_MS) {
      if (!spans.some((f) => f.start_ms - EDGE_SLACK_MS <= ms && ms <= f.end_ms + EDGE_SLACK_MS)) uncovered.push(ms);
    }
  }
  t.same(uncovered, [], `${label}: the finals cover all the speech sent (${speech.length} regions)`);
}
