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

const MIN_PAUSE_MS = 600;
const MAX_PAUSE_MS = 2500;

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

/**
 * At least `seconds` of speech for client `index`: the clips in turn, starting at a different one for each client,
 * each followed by a pause of 0.6-2.5 s, as people pause between sentences.
 */
export function buildTimeline(clips: SpeechClip[], index: number, seconds: number): Timeline {
  const next = random(index + 1);
  const parts: Int16Array[] = [];
  const regions: VadSegment[] = [];
  let samples = 0;
  for (let i = index; samples < seconds * SAMPLE_RATE; i++) {
    const clip = clips[i % clips.length] as SpeechClip;
    const offsetMs = (samples * 1000) / SAMPLE_RATE;
    for (const region of clip.regions) regions.push({ startMs: region.startMs + offsetMs, endMs: region.endMs + offsetMs });
    const pauseMs = MIN_PAUSE_MS + next() * (MAX_PAUSE_MS - MIN_PAUSE_MS);
    const pause = new Int16Array(Math.round((pauseMs * SAMPLE_RATE) / 1000));
    parts.push(clip.pcm, pause);
    samples += clip.pcm.length + pause.length;
  }
  const pcm = new Int16Array(samples);
  let offset = 0;
  for (const part of parts) {
    pcm.set(part, offset);
    offset += part.length;
  }
  return { pcm, regions };
}
