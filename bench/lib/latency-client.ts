import type { VadSegment } from '../../engine/index.js';
import { StreamClient } from './raw-stream-client.js';
import type { Timeline } from './speech-timeline.js';

/** One latency, with when it was observed (performance.now() in the bench process). */
export interface Sample {
  at: number;
  ms: number;
}

export interface ClientResult {
  partials: Sample[];
  /** Every final, from the arrival of the end of the audio it covers (its end_ms). */
  finals: Sample[];
  /** Finals that end a speech turn, from the arrival of the end of the speech in them (the source's Silero region). */
  speechEndFinals: Sample[];
  /**
   * How long speech went on without a new transcript (partial or final), in ms: from the moment a turn's speech was
   * sent to its first transcript, then between its transcripts, for turns that lasted over a second.
   */
  partialGaps: number[];
  /** Audio (ms) between consecutive finals of a speech turn, the first counted from the turn's start. */
  finalIntervals: number[];
  /** End-of-speech finals that match no speech end in the source. */
  unmatchedFinals: number;
  errors: string[];
}

/** A client's result before anything was measured. */
export function emptyResult(errors: string[] = []): ClientResult {
  return {
    partials: [],
    finals: [],
    speechEndFinals: [],
    partialGaps: [],
    finalIntervals: [],
    unmatchedFinals: 0,
    errors,
  };
}

const FRAME_MS = 20;
/** Clients start this far apart, so they do not all reach the ends of utterances in the same instant. */
export const STAGGER_MS = 230;
/** Longest wait for the last finals after a stream ends before it counts as an error. */
export const DRAIN_MS = 180_000;

/**
 * Streams `timeline` at real-time pace over a real WebSocket, ends the stream, and times every transcript:
 * - partial latency: arrival minus the send time of the newest audio it covers (its end_ms);
 * - final latency: arrival minus the send time of the end of its segment (its end_ms);
 * - end-of-speech final latency: arrival minus the send time of the audio where the source's speech ended (the last
 *   Silero region of the source that ends inside the final's segment).
 * `drainMs` bounds the wait for the last finals after the end; running past it counts as an error.
 */
export async function runClient(url: string, timeline: Timeline, drainMs: number): Promise<ClientResult> {
  const errors: string[] = [];
  let client: StreamClient;
  try {
    client = await StreamClient.connect(url);
  } catch (error) {
    return emptyResult([`connect: ${(error as Error).message}`]);
  }
  await client.stream(timeline.pcm, { speed: 1, frameMs: FRAME_MS });
  let timer: NodeJS.Timeout | undefined;
  const drained = await Promise.race([
    // drainMs is this wait's own limit.
    client.end({ timeoutMs: Infinity }),
    new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), drainMs);
    }),
  ]);
  clearTimeout(timer);
  if (!drained) {
    errors.push(`finals still missing ${drainMs} ms after the end`);
    client.ws.terminate();
  } else if (drained.code !== 1000) {
    errors.push(`closed with ${drained.code} ${drained.reason}`);
  }
  return {
    ...latencies(client, timeline.regions),
    errors: [...errors, ...client.errors().map((e) => `${String(e['code'])}: ${String(e['message'])}`)],
  };
}

/** Transcripts keep coming while someone speaks: the gaps between them, per turn longer than a second. */
const MIN_TURN_FOR_GAPS_MS = 1000;

function latencies(client: StreamClient, regions: VadSegment[]): Omit<ClientResult, 'errors'> {
  const result: Omit<ClientResult, 'errors'> = emptyResult();
  /**
   * The turn in progress: where it began, its last update and final, and its gaps (counted once it proves long enough).
   */
  let turn: { startMs: number; lastUpdateAt: number; lastFinalEndMs: number; gaps: number[] } | null = null;
  for (const { at, data } of client.messages) {
    if (data['type'] !== 'transcript') continue;
    const endMs = data['end_ms'] as number;
    const startMs = data['start_ms'] as number;
    // Speech starts being heard 200 ms after the turn's padded start.
    turn ??= { startMs, lastUpdateAt: client.sentAt(startMs + 200), lastFinalEndMs: startMs, gaps: [] };
    if (data['is_final'] !== true) {
      result.partials.push({ at, ms: at - client.sentAt(endMs) });
      turn.gaps.push(at - turn.lastUpdateAt);
      turn.lastUpdateAt = at;
      continue;
    }
    result.finals.push({ at, ms: at - client.sentAt(endMs) });
    result.finalIntervals.push(endMs - turn.lastFinalEndMs);
    turn.lastFinalEndMs = endMs;
    if (data['end_of_speech'] !== true) {
      turn.gaps.push(at - turn.lastUpdateAt);
      turn.lastUpdateAt = at;
      continue;
    }
    // Up to where the speaker stopped; the silence after that is no gap.
    const region = lastEndingIn(regions, startMs, endMs + 50);
    const spokeUntil = region?.endMs ?? endMs;
    if (client.sentAt(spokeUntil) > turn.lastUpdateAt) turn.gaps.push(client.sentAt(spokeUntil) - turn.lastUpdateAt);
    if (spokeUntil - turn.startMs >= MIN_TURN_FOR_GAPS_MS) result.partialGaps.push(...turn.gaps);
    if (region) result.speechEndFinals.push({ at, ms: at - client.sentAt(region.endMs) });
    else result.unmatchedFinals++;
    turn = null;
  }
  return result;
}

/** The last region whose end falls in (from, to]; regions are in time order. */
function lastEndingIn(regions: VadSegment[], from: number, to: number): VadSegment | undefined {
  let lo = 0;
  let hi = regions.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((regions[mid] as VadSegment).endMs <= to) lo = mid + 1;
    else hi = mid;
  }
  const region = regions[lo - 1];
  return region && region.endMs > from ? region : undefined;
}
