import { msToSamples } from './types.js';

/** Silero probability at which a window counts as speech (Silero's and whisper.cpp's default). */
export const SPEECH_THRESHOLD = 0.5;
/** Probability below which a window counts as silence; between the two the state holds (hysteresis). */
export const SILENCE_THRESHOLD = 0.35;
/** Speech must last this long before an utterance starts, so clicks and breaths do not open one. */
export const MIN_SPEECH_MS = 160;
/** Audio kept before the first speech window and after the last, so word onsets and tails reach the model. */
export const PAD_MS = 200;

export type UtteranceEvent =
  | { type: 'start'; startSample: number }
  | { type: 'end'; endSample: number }
  /** The utterance reached the maximum length: it ends at `cutSample` and the next one starts there. */
  | { type: 'cut'; cutSample: number };

export interface UtteranceDetectorOptions {
  /** Samples per VAD probability. */
  windowSamples: number;
  endSilenceMs: number;
  maxUtteranceMs: number;
}

type State = 'silence' | 'candidate' | 'speech';

/**
 * Turns a stream of per-window speech probabilities into utterance boundaries in absolute sample positions.
 * Pure bookkeeping over numbers: no audio, no allocation per window except on the rare boundary events.
 */
export class UtteranceDetector {
  private readonly window: number;
  private readonly minSpeechWindows: number;
  private readonly endSilenceWindows: number;
  private readonly maxUtteranceSamples: number;
  private readonly pad: number;
  /** Recent probabilities by window index modulo its length: enough to look back over a whole utterance for a cut. */
  private readonly history: Float32Array;
  private state: State = 'silence';
  private windows = 0;
  private candidateStart = 0;
  private utteranceStart = 0;
  /** First window of the current silence run inside speech, or -1. */
  private silenceStart = -1;
  /** No utterance may start before this sample: the previous one ended there. */
  private floor = 0;

  constructor(options: UtteranceDetectorOptions) {
    this.window = options.windowSamples;
    this.minSpeechWindows = Math.max(1, Math.ceil(msToSamples(MIN_SPEECH_MS) / this.window));
    this.endSilenceWindows = Math.max(1, Math.ceil(msToSamples(options.endSilenceMs) / this.window));
    this.maxUtteranceSamples = msToSamples(options.maxUtteranceMs);
    this.pad = msToSamples(PAD_MS);
    this.history = new Float32Array(Math.ceil((this.maxUtteranceSamples + this.pad) / this.window) + this.endSilenceWindows + 2);
  }

  /** Whether an utterance is open (started and not yet ended). */
  get inSpeech(): boolean {
    return this.state === 'speech';
  }

  /** Feeds the probability of the next window; returns the boundary it caused, if any. */
  process(probability: number): UtteranceEvent | null {
    const w = this.windows++;
    this.history[w % this.history.length] = probability;
    const windowEnd = (w + 1) * this.window;

    if (this.state === 'silence') {
      if (probability >= SPEECH_THRESHOLD) {
        this.state = 'candidate';
        this.candidateStart = w;
        return this.confirm(w);
      }
      return null;
    }
    if (this.state === 'candidate') {
      if (probability < SILENCE_THRESHOLD) {
        this.state = 'silence';
        return null;
      }
      return this.confirm(w);
    }

    if (probability >= SPEECH_THRESHOLD) this.silenceStart = -1;
    else if (probability < SILENCE_THRESHOLD && this.silenceStart < 0) this.silenceStart = w;

    if (this.silenceStart >= 0 && w + 1 - this.silenceStart >= this.endSilenceWindows) {
      return this.close(Math.min(this.silenceStart * this.window + this.pad, windowEnd));
    }
    if (windowEnd - this.utteranceStart >= this.maxUtteranceSamples) return this.cut(w);
    return null;
  }

  /**
   * Ends whatever is open at `endSample` (the newest sample received): an utterance, or speech too short to have
   * started one yet, which then gets its start too, so nothing said before a flush is lost.
   */
  flush(endSample: number): UtteranceEvent[] {
    if (this.state === 'candidate') {
      this.state = 'speech';
      const start = this.startEvent();
      return [start, this.close(endSample)];
    }
    if (this.state === 'speech') {
      const trimmed = this.silenceStart >= 0 ? this.silenceStart * this.window + this.pad : endSample;
      return [this.close(Math.min(trimmed, endSample))];
    }
    this.floor = Math.max(this.floor, endSample);
    return [];
  }

  private confirm(w: number): UtteranceEvent | null {
    if (w + 1 - this.candidateStart < this.minSpeechWindows) return null;
    this.state = 'speech';
    return this.startEvent();
  }

  private startEvent(): UtteranceEvent {
    this.utteranceStart = Math.max(this.floor, this.candidateStart * this.window - this.pad);
    this.silenceStart = -1;
    return { type: 'start', startSample: this.utteranceStart };
  }

  private close(endSample: number): UtteranceEvent {
    const end = Math.max(endSample, this.utteranceStart);
    this.state = 'silence';
    this.silenceStart = -1;
    this.floor = end;
    return { type: 'end', endSample: end };
  }

  /** Cuts at the quietest point of the utterance's second half, smoothed over three windows to skip single dips. */
  private cut(w: number): UtteranceEvent {
    const first = Math.ceil((this.utteranceStart + this.maxUtteranceSamples / 2) / this.window);
    let best = w;
    let bestScore = Number.POSITIVE_INFINITY;
    for (let i = first; i < w; i++) {
      const score = this.prob(i - 1) + this.prob(i) + this.prob(i + 1);
      if (score < bestScore) {
        bestScore = score;
        best = i;
      }
    }
    const cutSample = best * this.window + this.window / 2;
    this.utteranceStart = cutSample;
    this.floor = cutSample;
    if (this.silenceStart >= 0 && this.silenceStart < best) this.silenceStart = best;
    return { type: 'cut', cutSample };
  }

  private prob(w: number): number {
    return w >= 0 && w < this.windows ? (this.history[w % this.history.length] as number) : 1;
  }
}
