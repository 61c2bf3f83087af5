import type { VadParams, VadSegment } from './types.js';

const SAMPLE_RATE = 16000;
const WINDOW = 512;

export const DEFAULT_VAD_PARAMS: Required<VadParams> = {
  threshold: 0.5,
  minSpeechDurationMs: 250,
  minSilenceDurationMs: 100,
  maxSpeechDurationS: Number.MAX_VALUE,
  speechPadMs: 30,
};

interface Span {
  start: number;
  end: number;
}

const samplesToMs = (samples: number): number => Math.trunc((samples / SAMPLE_RATE) * 100 + 0.5) * 10;

/**
 * Speech segments from per-window probabilities, by the same rules and integer arithmetic as whisper.cpp's
 * whisper_vad_segments_from_probs (silero-vad's get_speech_timestamps), so probabilities gathered by streaming
 * give the segments of a whole-buffer pass. Thresholds are compared in float32 as the C code does.
 */
export function segmentsFromProbs(probs: ArrayLike<number>, params: VadParams = {}): VadSegment[] {
  const p = { ...DEFAULT_VAD_PARAMS, ...params };
  const threshold = Math.fround(p.threshold);
  const negThreshold = Math.max(Math.fround(threshold - Math.fround(0.15)), Math.fround(0.01));
  const minSilenceSamples = Math.trunc((SAMPLE_RATE * p.minSilenceDurationMs) / 1000);
  const minSpeechSamples = Math.trunc((SAMPLE_RATE * p.minSpeechDurationMs) / 1000);
  const padSamples = Math.trunc((SAMPLE_RATE * p.speechPadMs) / 1000);
  const audioLength = probs.length * WINDOW;
  const cappedMax = SAMPLE_RATE * Math.trunc(p.maxSpeechDurationS) - WINDOW - 2 * padSamples;
  const maxSpeechSamples = p.maxSpeechDurationS > 100000 || cappedMax < 0 ? Number.MAX_SAFE_INTEGER : cappedMax;
  const minSilenceAtMax = Math.trunc((SAMPLE_RATE * 98) / 1000);

  const speeches: Span[] = [];
  let inSpeech = false;
  let tempEnd = 0;
  let prevEnd = 0;
  let nextStart = 0;
  let currStart = 0;
  let hasCurr = false;

  for (let i = 0; i < probs.length; i++) {
    const prob = probs[i] as number;
    const sample = WINDOW * i;
    if (prob >= threshold && tempEnd) {
      tempEnd = 0;
      if (nextStart < prevEnd) nextStart = sample;
    }
    if (prob >= threshold && !inSpeech) {
      inSpeech = true;
      currStart = sample;
      hasCurr = true;
      continue;
    }
    if (inSpeech && sample - currStart > maxSpeechSamples) {
      if (prevEnd) {
        speeches.push({ start: currStart, end: prevEnd });
        hasCurr = true;
        if (nextStart < prevEnd) {
          inSpeech = false;
          hasCurr = false;
        } else {
          currStart = nextStart;
        }
        prevEnd = nextStart = tempEnd = 0;
      } else {
        speeches.push({ start: currStart, end: sample });
        prevEnd = nextStart = tempEnd = 0;
        inSpeech = false;
        hasCurr = false;
        continue;
      }
    }
    if (prob < negThreshold && inSpeech) {
      if (!tempEnd) tempEnd = sample;
      if (sample - tempEnd > minSilenceAtMax) prevEnd = tempEnd;
      if (sample - tempEnd < minSilenceSamples) continue;
      if (tempEnd - currStart > minSpeechSamples) speeches.push({ start: currStart, end: tempEnd });
      prevEnd = nextStart = tempEnd = 0;
      inSpeech = false;
      hasCurr = false;
    }
  }
  if (hasCurr && audioLength - currStart > minSpeechSamples) speeches.push({ start: currStart, end: audioLength });

  const maxMergeGap = Math.trunc((SAMPLE_RATE * 200) / 1000);
  for (let i = 0; i < speeches.length - 1; i++) {
    const cur = speeches[i] as Span;
    const next = speeches[i + 1] as Span;
    if (next.start - cur.end < maxMergeGap) {
      cur.end = next.end;
      speeches.splice(i + 1, 1);
      i--;
    }
  }
  const kept = speeches.filter((s) => s.end - s.start >= minSpeechSamples);

  for (let i = 0; i < kept.length; i++) {
    const cur = kept[i] as Span;
    if (i === 0) cur.start = cur.start > padSamples ? cur.start - padSamples : 0;
    const next = kept[i + 1];
    if (next) {
      const silence = next.start - cur.end;
      if (silence < 2 * padSamples) {
        const half = Math.trunc(silence / 2);
        cur.end += half;
        next.start = next.start > half ? next.start - half : 0;
      } else {
        cur.end = Math.min(cur.end + padSamples, audioLength);
        next.start = next.start > padSamples ? next.start - padSamples : 0;
      }
    } else {
      cur.end = Math.min(cur.end + padSamples, audioLength);
    }
  }
  return kept.map((s) => ({ startMs: samplesToMs(s.start), endMs: samplesToMs(s.end) }));
}
