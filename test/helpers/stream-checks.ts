import type { Test } from 'tap';
import type { TranscriptMessage } from '../../protocol/stream.js';
import type { VadSegment } from '../../engine/index.js';
import { POST_PAD_MS, PRE_PAD_MS } from '../../engine/pipeline/index.js';

/**
 * What partials may hold: words of letters, combining marks, digits and zero-width joiners, with inner apostrophes, one
 * space apart.
 */
export const PARTIAL_TEXT = /^(?:[\p{L}\p{M}\p{N}\u200c\u200d]+(?:['’][\p{L}\p{M}\p{N}\u200c\u200d]+)*(?: |$))*$/u;

/** Slack on segment edges against whole-file VAD regions: the documented pad plus one 32 ms VAD window. */
export const EDGE_SLACK_MS = Math.max(PRE_PAD_MS, POST_PAD_MS) + 32;

const TRANSCRIPT_KEYS = [
  'end_ms',
  'end_of_speech',
  'is_final',
  'language',
  'segment_id',
  'seq',
  'start_ms',
  'text',
  'type',
];
/** Session bookkeeping messages and their keys. */
const BOOKKEEPING_KEYS: Record<string, string[]> = {
  session: ['resume_token', 'resume_ttl_ms', 'session_id', 'type'],
  ack: ['audio_ms', 'type'],
  resumed: ['audio_ms', 'session_id', 'type'],
};

export type Transcript = TranscriptMessage;

/** Checks the documented shape of every message and returns the transcripts. */
export function checkShapes(t: Test, messages: Record<string, unknown>[]): Transcript[] {
  const transcripts: Transcript[] = [];
  for (const message of messages) {
    if (message['type'] === 'error') {
      t.same(Object.keys(message).sort(), ['code', 'message', 'type'], 'error message shape');
      t.type(message['code'], 'string');
      t.type(message['message'], 'string');
      continue;
    }
    const bookkeeping = BOOKKEEPING_KEYS[message['type'] as string];
    if (bookkeeping) {
      t.same(Object.keys(message).sort(), bookkeeping, `${message['type'] as string} message shape`);
      continue;
    }
    t.same(Object.keys(message).sort(), TRANSCRIPT_KEYS, 'transcript message shape');
    t.type(message['text'], 'string');
    t.type(message['is_final'], 'boolean');
    t.type(message['end_of_speech'], 'boolean');
    if (message['end_of_speech'] === true) t.equal(message['is_final'], true, 'only a final ends a turn');
    t.type(message['language'], 'string');
    for (const key of ['segment_id', 'seq', 'start_ms', 'end_ms'])
      t.ok(Number.isInteger(message[key]) && (message[key] as number) >= 0, `${key} is a whole number`);
    t.ok((message['end_ms'] as number) >= (message['start_ms'] as number), 'end_ms >= start_ms');
    transcripts.push({
      type: 'transcript',
      text: message['text'] as string,
      is_final: message['is_final'] as boolean,
      end_of_speech: message['end_of_speech'] as boolean,
      language: message['language'] as string,
      segment_id: message['segment_id'] as number,
      seq: message['seq'] as number,
      start_ms: message['start_ms'] as number,
      end_ms: message['end_ms'] as number,
    });
  }
  return transcripts;
}

/**
 * The documented ordering: seq counts up from 0 by one; each segment is zero or more partials then exactly one
 * final, all before the next segment starts; partials carry no punctuation and cover only audio after the last
 * final; finals cover their partials' start; a turn's segments tile its audio up to the final that ends it.
 */
export function checkOrdering(t: Test, transcripts: Transcript[]): void {
  transcripts.forEach((m, i) => {
    t.equal(m.seq, i, 'seq counts up by one');
  });
  let open: number | null = null;
  const finished = new Set<number>();
  /** The last final, while its turn goes on. */
  let turnGoesOn: Transcript | null = null;
  let lastFinalEnd = 0;
  for (const m of transcripts) {
    t.notOk(finished.has(m.segment_id), `nothing follows the final of segment ${m.segment_id}`);
    if (open !== null && m.segment_id !== open)
      t.fail(`segment ${m.segment_id} started before segment ${open} had its final`);
    if (turnGoesOn && open === null)
      t.equal(m.start_ms, turnGoesOn.end_ms, `segment ${m.segment_id} carries its turn on where the last final ended`);
    if (m.is_final) {
      finished.add(m.segment_id);
      open = null;
      turnGoesOn = m.end_of_speech ? null : m;
      lastFinalEnd = m.end_ms;
    } else {
      t.match(m.text, PARTIAL_TEXT, 'partial has no punctuation or symbols');
      t.not(m.text, '', 'partials are never empty');
      t.ok(m.start_ms >= lastFinalEnd, 'a partial covers only audio after the last final');
      open = m.segment_id;
    }
  }
  t.equal(open, null, 'every segment ended with a final');
  t.equal(turnGoesOn, null, 'the last final ended its turn');
  const ids = [...new Set(transcripts.map((m) => m.segment_id))];
  t.same(
    ids,
    [...ids].sort((a, b) => a - b),
    'segments come in order',
  );
  for (const id of ids) {
    const mine = transcripts.filter((m) => m.segment_id === id);
    t.equal(new Set(mine.map((m) => m.start_ms)).size, 1, `segment ${id} keeps one start`);
  }
}

export interface TimingReference {
  /** Whole-file VAD speech regions of the audio streamed. */
  regions: VadSegment[];
  endSilenceMs: number;
  maxUtteranceMs: number;
  /** Length of the audio streamed. */
  audioMs: number;
}

/**
 * Segment timings against whole-file VAD: a segment starts in (or just before) a speech region and its final
 * ends in (or just after) one, or at the end of the audio; a partial covers no more than its final plus the
 * silence that ended it or, where the maximum length cut the utterance, no more than that maximum.
 */
export function checkTimings(t: Test, transcripts: Transcript[], ref: TimingReference): void {
  const inRegion = (ms: number, before: number, after: number): boolean =>
    ref.regions.some((r) => ms >= r.startMs - before && ms <= r.endMs + after);
  for (const m of transcripts) {
    t.ok(inRegion(m.start_ms, EDGE_SLACK_MS, 0), `segment ${m.segment_id} starts at ${m.start_ms} ms, inside speech`);
    if (m.is_final) {
      // Speech still going on when the stream ends (by whole-file VAD too short to count) runs to the end of the audio.
      t.ok(
        inRegion(m.end_ms, 0, EDGE_SLACK_MS) || m.end_ms === ref.audioMs,
        `segment ${m.segment_id} ends at ${m.end_ms} ms, inside speech`,
      );
      continue;
    }
    const final = transcripts.find((f) => f.segment_id === m.segment_id && f.is_final);
    if (!final) continue;
    // A segment cut while its turn went on may have been read past its end (up to the committed words after it).
    const limit = final.end_of_speech
      ? final.end_ms + ref.endSilenceMs + EDGE_SLACK_MS
      : m.start_ms + ref.maxUtteranceMs + 1000;
    t.ok(m.end_ms <= limit, `partial of segment ${m.segment_id} covers ${m.end_ms} ms, within its turn`);
  }
}
