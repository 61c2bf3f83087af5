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
  finals: Sample[];
  /**
   * How long speech went on without a partial, in ms: from the moment an utterance's speech was sent to its first
   * partial, then between its partials, for utterances that lasted over a second.
   */
  partialGaps: number[];
  /** Finals that match no speech end in the source (forced cuts of long utterances). */
  unmatchedFinals: number;
  errors: string[];
}

const FRAME_MS = 20;
/** Clients start this far apart, so they do not all reach the ends of utterances in the same instant. */
export const STAGGER_MS = 230;
/** Longest wait for the last finals after a stream ends before it counts as an error. */
export const DRAIN_MS = 180_000;

/**
 * Streams `timeline` at real-time pace over a real WebSocket, ends the stream, and times every transcript:
 * - partial latency: arrival minus the send time of the newest audio it covers (its end_ms);
 * - final latency: arrival minus the send time of the audio where the source's speech ended (the last Silero
 *   region of the source that ends inside the final's segment).
 * `drainMs` bounds the wait for the last finals after the end; running past it counts as an error.
 */
export async function runClient(url: string, timeline: Timeline, drainMs: number): Promise<ClientResult> {
  const errors: string[] = [];
  let client: StreamClient;
  try {
    client = await StreamClient.connect(url);
  } catch (error) {
    return { partials: [], finals: [], partialGaps: [], unmatchedFinals: 0, errors: [`connect: ${(error as Error).message}`] };
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
  return { ...latencies(client, timeline.regions), errors: [...errors, ...client.errors().map((e) => `${String(e['code'])}: ${String(e['message'])}`)] };
}

/** Partials keep coming while someone speaks: the gaps between them, per utterance longer than a second. */
const MIN_UTTERANCE_FOR_GAPS_MS = 1000;

function latencies(client: StreamClient, regions: VadSegment[]): Omit<ClientResult, 'errors'> {
  const partials: Sample[] = [];
  const finals: Sample[] = [];
  const partialGaps: number[] = [];
  let unmatchedFinals = 0;
  let segment = -1;
  let lastPartialAt = 0;
  /** Gaps of the utterance in progress: they count once its final shows it lasted long enough. */
  let gaps: number[] = [];
  for (const { at, data } of client.messages) {
    if (data['type'] !== 'transcript') continue;
    const endMs = data['end_ms'] as number;
    const startMs = data['start_ms'] as number;
    if (data['segment_id'] !== segment) {
      segment = data['segment_id'] as number;
      // Speech starts being heard 200 ms after the utterance's padded start.
      lastPartialAt = client.sentAt(startMs + 200);
      gaps = [];
    }
    if (data['is_final'] !== true) {
      partials.push({ at, ms: at - client.sentAt(endMs) });
      gaps.push(at - lastPartialAt);
      lastPartialAt = at;
      continue;
    }
    // Up to where the speaker stopped; the silence after that is no gap.
    const spokeUntil = lastEndingIn(regions, startMs, endMs + 50)?.endMs ?? endMs;
    if (client.sentAt(spokeUntil) > lastPartialAt) gaps.push(client.sentAt(spokeUntil) - lastPartialAt);
    if (spokeUntil - startMs >= MIN_UTTERANCE_FOR_GAPS_MS) partialGaps.push(...gaps);
    const region = lastEndingIn(regions, startMs, endMs + 50);
    if (region) finals.push({ at, ms: at - client.sentAt(region.endMs) });
    else unmatchedFinals++;
  }
  return { partials, finals, partialGaps, unmatchedFinals };
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
