import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { VadModel, fixturesDir, readWav16kMono, type VadSegment } from '../../engine/index.js';
import { SAMPLE_RATE } from '../../engine/pipeline/index.js';

/** One recording and where Silero says its speech is. */
export interface SpeechClip {
  name: string;
  pcm: Int16Array;
  regions: VadSegment[];
}

/** A client's audio: clips with pauses between them, and the speech regions in timeline time. */
export interface Timeline {
  pcm: Int16Array;
  regions: VadSegment[];
}

/**
 * How the clips are joined. `mixed`: each whole clip (its own silences included) then a pause of 0.6-2.5 s, as people
 * pause between turns. `continuous`: only the clips' speech, every pause longer than 150 ms cut down to 50-150 ms, as
 * in a lecture or dictation: long turns without the silence that ends one.
 */
export type Corpus = 'mixed' | 'continuous';

const PAUSES_MS: Record<Corpus, [number, number]> = { mixed: [600, 2500], continuous: [50, 150] };
/**
 * Audio kept around each speech region of a clip in the continuous corpus, so no word loses its edges; it counts in the
 * pause.
 */
const REGION_PAD_MS = 30;

/** Every WAV in fixtures/speech, with its speech regions. */
export async function loadClips(names?: string[]): Promise<SpeechClip[]> {
  const paths = names
    ? names.map((name) => join(fixturesDir, 'speech', name))
    : readdirSync(join(fixturesDir, 'speech'))
        .filter((file) => file.endsWith('.wav'))
        .sort()
        .map((file) => join(fixturesDir, 'speech', file));
  const vad = new VadModel();
  try {
    const clips: SpeechClip[] = [];
    for (const path of paths) {
      const pcm = readWav16kMono(path);
      clips.push({ name: path.slice(path.lastIndexOf('/') + 1), pcm, regions: await vad.segments(pcm) });
    }
    return clips;
  } finally {
    vad.free();
  }
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so every run plays the same pauses. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

const samplesOf = (ms: number): number => Math.round((ms * SAMPLE_RATE) / 1000);

/** A clip's speech regions only (padded), each with the region it is, in the clip's time. */
function speechOnly(clip: SpeechClip): { pcm: Int16Array; region: VadSegment }[] {
  return clip.regions.map((region) => {
    const from = Math.max(0, samplesOf(region.startMs - REGION_PAD_MS));
    const to = Math.min(clip.pcm.length, samplesOf(region.endMs + REGION_PAD_MS));
    return {
      pcm: clip.pcm.subarray(from, to),
      region: {
        startMs: region.startMs - (from * 1000) / SAMPLE_RATE,
        endMs: region.endMs - (from * 1000) / SAMPLE_RATE,
      },
    };
  });
}

/**
 * At least `seconds` of audio for client `index`: the clips in turn, starting at a different one for each client,
 * joined as `corpus` says, with pauses drawn from a seeded generator so every run plays the same audio.
 */
export function buildTimeline(clips: SpeechClip[], index: number, seconds: number, corpus: Corpus = 'mixed'): Timeline {
  const next = random(index + 1);
  const [minPauseMs, maxPauseMs] = PAUSES_MS[corpus];
  const parts: Int16Array[] = [];
  const regions: VadSegment[] = [];
  let samples = 0;
  const add = (pcm: Int16Array, clipRegions: VadSegment[]): void => {
    const offsetMs = (samples * 1000) / SAMPLE_RATE;
    for (const region of clipRegions)
      regions.push({ startMs: region.startMs + offsetMs, endMs: region.endMs + offsetMs });
    const gapMs = minPauseMs + next() * (maxPauseMs - minPauseMs);
    // From speech to speech: the continuous corpus's pieces carry their padding on both sides already.
    const pause = new Int16Array(samplesOf(Math.max(0, corpus === 'continuous' ? gapMs - 2 * REGION_PAD_MS : gapMs)));
    parts.push(pcm, pause);
    samples += pcm.length + pause.length;
  };
  for (let i = index; samples < seconds * SAMPLE_RATE; i++) {
    const clip = clips[i % clips.length] as SpeechClip;
    if (corpus === 'mixed') add(clip.pcm, clip.regions);
    else for (const piece of speechOnly(clip)) add(piece.pcm, [piece.region]);
  }
  const pcm = new Int16Array(samples);
  let offset = 0;
  for (const part of parts) {
    pcm.set(part, offset);
    offset += part.length;
  }
  return { pcm, regions };
}
