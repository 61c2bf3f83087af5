import { msToSamples } from './types.js';

/** Silero probability at which a window counts as speech (Silero's and whisper.cpp's default). */
export const SPEECH_THRESHOLD = 0.5;
/** Probability below which a window counts as silence; between the two the state holds (hysteresis). */
export const SILENCE_THRESHOLD = 0.35;
/** Speech must last this long before an utterance starts, so clicks and breaths do not open one. */
export const MIN_SPEECH_MS = 160;
/** Audio kept before the first speech window, so word onsets reach the model. */
export const PRE_PAD_MS = 200;
/**
 * Audio kept after the last speech window, for word tails Silero already hears as silence. Short, because the
 * final can only start once this much silence has arrived (see the `pause` event).
 */
export const POST_PAD_MS = 100;

export type UtteranceEvent =
  | { type: 'start'; startSample: number }
  /**
   * Speech stopped half the end-of-speech silence ago and the audio up to `endSample` is in: if the silence lasts,
   * the utterance will end exactly there, so its final can start now. At most one per silence run. Not sooner:
   * the pauses between words and sentences of continuous speech are shorter, and a final started in one of them is
   * wasted work.
   */
  | { type: 'pause'; endSample: number }
  /** Speech came back after a `pause`: the utterance goes on. */
  | { type: 'resume' }
  | { type: 'end'; endSample: number }
  /** The utterance reached the maximum length: it ends at `cutSample` and the next one starts there. */
  | { type: 'cut'; cutSample: number };

export interface UtteranceDetectorOptions {
  /** Samples per VAD probability. */
  windowSamples: number;
  /** Silence that ends an utterance; null: silence never does (only flush and the maximum length). */
  endSilenceMs: number | null;
  maxUtteranceMs: number;
}

/** The longest end-of-utterance silence a session may ask for: the probability history is sized for it. */
export const MAX_END_SILENCE_MS = 5000;

type State = 'silence' | 'candidate' | 'speech';

/**
 * Turns a stream of per-window speech probabilities into utterance boundaries in absolute sample positions.
 * Pure bookkeeping over numbers: no audio, no allocation per window except on the rare boundary events.
 */
export class UtteranceDetector {
  private readonly window: number;
  private readonly minSpeechWindows: number;
  /** Silence windows that end an utterance; null while only flush and the maximum length end one. */
  private endSilenceWindows: number | null;
  /** Silence windows after which a pause is announced. */
  private pauseWindows = 1;
  private readonly maxUtteranceSamples: number;
  private readonly prePad: number;
  private readonly postPad: number;
  /** Recent probabilities by window index modulo its length: enough to look back over a whole utterance for a cut. */
  private readonly history: Float32Array;
  private state: State = 'silence';
  private windows = 0;
  private candidateStart = 0;
  private utteranceStart = 0;
  /** First window of the current silence run inside speech, or -1. */
  private silenceStart = -1;
  /** First window of speech heard during a silence run, not yet long enough to end the run; or -1. */
  private resumeStart = -1;
  private paused = false;
  /** No utterance may start before this sample: the previous one ended there. */
  private floor = 0;

  constructor(options: UtteranceDetectorOptions) {
    this.window = options.windowSamples;
    this.minSpeechWindows = Math.max(1, Math.ceil(msToSamples(MIN_SPEECH_MS) / this.window));
    this.endSilenceWindows = null;
    this.maxUtteranceSamples = msToSamples(options.maxUtteranceMs);
    this.prePad = msToSamples(PRE_PAD_MS);
    this.postPad = msToSamples(POST_PAD_MS);
    const maxSilenceWindows = Math.ceil(msToSamples(MAX_END_SILENCE_MS) / this.window);
    this.history = new Float32Array(
      Math.ceil((this.maxUtteranceSamples + this.prePad) / this.window) + maxSilenceWindows + 2,
    );
    this.setEndSilence(options.endSilenceMs);
  }

  /**
   * Changes the silence that ends an utterance (at most MAX_END_SILENCE_MS; null: none does), from the next window on.
   */
  setEndSilence(ms: number | null): void {
    this.endSilenceWindows =
      ms === null ? null : Math.max(1, Math.ceil(msToSamples(Math.min(ms, MAX_END_SILENCE_MS)) / this.window));
    if (this.endSilenceWindows === null) this.paused = false;
    else this.pauseWindows = Math.max(Math.ceil(this.postPad / this.window), Math.floor(this.endSilenceWindows / 2));
  }

  /**
   * The open utterance's current segment begins at `sample` (the session finalized what came before): the maximum
   * length counts from there.
   */
  restartSegment(sample: number): void {
    if (this.state === 'speech') this.utteranceStart = Math.max(this.utteranceStart, sample);
  }

  /** An utterance is open and its newest window is speech (not part of a silence run). */
  get speaking(): boolean {
    return this.state === 'speech' && this.silenceStart < 0;
  }

  /**
   * The earliest sample an utterance that has not ended can start at: the open one's start, or, before one opens,
   * the lead-in of speech that may be starting, or of audio not yet seen.
   */
  get openFrom(): number {
    if (this.state === 'speech') return this.utteranceStart;
    const from = this.state === 'candidate' ? this.candidateStart : this.windows;
    return Math.max(this.floor, from * this.window - this.prePad);
  }

  /** Feeds the probability of the next window; returns the boundary it caused, if any. */
  process(probability: number): UtteranceEvent | null {
    const w = this.windows++;
    this.history[w % this.history.length] = probability;
    const windowEnd = (w + 1) * this.window;

    if (this.state === 'silence') {
      if (probability < SPEECH_THRESHOLD) return null;
      this.state = 'candidate';
      this.candidateStart = w;
      return this.confirm(w);
    }
    if (this.state === 'candidate') {
      if (probability < SILENCE_THRESHOLD) {
        this.state = 'silence';
        return null;
      }
      return this.confirm(w);
    }

    if (this.silenceStart < 0) {
      if (probability < SILENCE_THRESHOLD) this.silenceStart = w;
    } else if (this.resumeStart < 0) {
      if (probability >= SPEECH_THRESHOLD) this.resumeStart = w;
    } else if (probability < SILENCE_THRESHOLD) {
      this.resumeStart = -1;
    }
    // Speech interrupts a silence run only once it lasts as long as speech must to open an utterance, so a click
    // or breath in the pause neither resumes the utterance nor stretches it to the end of the blip.
    if (this.resumeStart >= 0 && w + 1 - this.resumeStart >= this.minSpeechWindows) {
      this.silenceStart = -1;
      this.resumeStart = -1;
      if (this.paused) {
        this.paused = false;
        return { type: 'resume' };
      }
    }

    if (this.silenceStart >= 0 && this.endSilenceWindows !== null) {
      const end = this.silenceStart * this.window + this.postPad;
      // While speech may be resuming, the end waits for it to be confirmed or to fade.
      if (w + 1 - this.silenceStart >= this.endSilenceWindows && this.resumeStart < 0)
        return this.close(Math.min(end, windowEnd));
      if (!this.paused && this.resumeStart < 0 && windowEnd >= end && w + 1 - this.silenceStart >= this.pauseWindows) {
        this.paused = true;
        return { type: 'pause', endSample: end };
      }
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
      const trimmed =
        this.silenceStart >= 0 && this.resumeStart < 0 ? this.silenceStart * this.window + this.postPad : endSample;
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
    this.utteranceStart = Math.max(this.floor, this.candidateStart * this.window - this.prePad);
    this.silenceStart = -1;
    this.resumeStart = -1;
    this.paused = false;
    return { type: 'start', startSample: this.utteranceStart };
  }

  private close(endSample: number): UtteranceEvent {
    const end = Math.max(endSample, this.utteranceStart);
    this.state = 'silence';
    this.silenceStart = -1;
    this.resumeStart = -1;
    this.paused = false;
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
    // A pause announced before the cut belonged to the old utterance; the new one starts unpaused.
    this.paused = false;
    if (this.silenceStart >= 0 && this.silenceStart < best) this.silenceStart = best;
    return { type: 'cut', cutSample };
  }

  private prob(w: number): number {
    return w >= 0 && w < this.windows ? (this.history[w % this.history.length] as number) : 1;
  }
}
