import { EventEmitter } from 'node:events';
import { VadModel } from '../vad.js';
import type { TranscribeOptions } from '../types.js';
import type { LanguagePolicy } from './language-policy.js';
import { PartialStabilizer } from './partial-stabilizer.js';
import { PcmRingBuffer } from '../audio/pcm-ring-buffer.js';
import type { JobResult, TranscriptionScheduler } from './scheduler.js';
import { speechText, stripPunctuation } from './text-filters.js';
import { PRE_PAD_MS, UtteranceDetector, type UtteranceEvent } from './utterance-detector.js';
import {
  SAMPLE_RATE,
  SessionError,
  msToSamples,
  samplesToMs,
  type StreamSettings,
  type TranscriptEvent,
  type TranscriptionOutcome,
  type TranscriptionTask,
} from './types.js';

/** Longest frame a session must absorb at once; the protocol refuses longer ones. */
export const MAX_FRAME_MS = 1000;
// Token caps bound the cost of a runaway decode. Whisper's byte-level BPE spends a few tokens per English word
// and many more per word in other scripts, so the cap per second of audio depends on the language.
const TOKENS_PER_SECOND_EN = 6;
const TOKENS_PER_SECOND_OTHER = 16;
const TOKEN_MARGIN = 8;
const MAX_TOKENS = 224;
/** The naive strategy's window: whisper.cpp's `stream` example re-reads its last 10 s (`--length 10000`). */
const NAIVE_WINDOW_MS = 10_000;

export interface StreamSessionOptions {
  scheduler: TranscriptionScheduler;
  vadModelPath: string;
  languages: LanguagePolicy;
  /** Language of every utterance until the client asks for another; already checked against `languages`. */
  defaultLanguage: string;
  settings: StreamSettings;
}

export interface StreamSessionEvents {
  transcript: [TranscriptEvent];
  /** Something went wrong in the background (a failed transcription); the session carries on. */
  failure: [SessionError];
}

interface Utterance {
  segmentId: number;
  startSample: number;
  /** Set when the utterance ends; partial results that arrive afterwards are dropped. */
  endSample: number | null;
  /** What the engine is asked for: a code, or `auto` until the session has detected one. */
  language: string;
  stabilizer: PartialStabilizer;
  lastPartial: string;
  /** Language of the newest partial, for the closing final when its transcription fails. */
  lastLanguage: string;
  partialPending: boolean;
  /** Newest sample the latest partial covered; the partial clock runs on audio time from here. */
  partialCoveredTo: number;
  /** A final started at a pause, before the silence was long enough to end the utterance. */
  early: EarlyFinal | null;
}

interface EarlyFinal {
  endSample: number;
  result: Promise<JobResult>;
  withdraw: AbortController;
}

/**
 * One audio stream's pipeline: ring buffer, streaming VAD, utterance boundaries, partial and final scheduling, text
 * clean-up. It knows nothing of sockets: audio and commands come in as method calls, transcripts leave as events,
 * so any transport (or none) can drive it.
 *
 * Message invariant: each segment's messages are zero or more partials followed by exactly one final, and all of
 * them come before any message of the next segment. A final whose text is filtered away (silence, non-speech) is
 * still sent, with text '', when partials of it were sent, so a client can clear them; otherwise nothing is sent.
 */
export class StreamSession extends EventEmitter<StreamSessionEvents> {
  private readonly scheduler: TranscriptionScheduler;
  private readonly languages: LanguagePolicy;
  private readonly settings: StreamSettings;
  private readonly ring: PcmRingBuffer;
  private readonly vad: VadModel;
  private readonly detector: UtteranceDetector;
  private readonly partialInterval: number;
  private requestedLanguage: string;
  /** The language `auto` settled on with the first final that had text. */
  private detectedLanguage: string | null = null;
  private current: Utterance | null = null;
  private readonly finals = new Set<Promise<void>>();
  private pendingFinalSamples = 0;
  private previousFinal = '';
  /** Naive strategy: newest sample its latest partial covered, and whether one is on its way. */
  private naiveCoveredTo = 0;
  private naivePending = false;
  private nextSegmentId = 0;
  private seq = 0;
  private ending: Promise<void> | null = null;
  private closed = false;

  constructor(options: StreamSessionOptions) {
    super();
    this.scheduler = options.scheduler;
    this.languages = options.languages;
    this.settings = options.settings;
    this.requestedLanguage = options.defaultLanguage;
    this.vad = new VadModel(options.vadModelPath);
    this.detector = new UtteranceDetector({
      windowSamples: this.vad.windowSize,
      endSilenceMs: this.settings.endSilenceMs,
      maxUtteranceMs: this.settings.maxUtteranceMs,
    });
    // Enough to copy an utterance out after its end is detected: longest utterance, its lead-in, the silence that
    // ends it and one more frame of audio.
    const holdMs = this.settings.maxUtteranceMs + PRE_PAD_MS + this.settings.endSilenceMs + MAX_FRAME_MS;
    this.ring = new PcmRingBuffer(msToSamples(holdMs) + 2 * this.vad.windowSize);
    this.partialInterval = msToSamples(this.settings.partialIntervalMs);
  }

  /** The language the next utterance will be transcribed in (`auto` until detection settles it). */
  get language(): string {
    return this.detectedLanguage ?? this.requestedLanguage;
  }

  /** Samples received so far; audio time in transcripts counts from the first of them. */
  get samplesReceived(): number {
    return this.ring.written;
  }

  /** Audio of ended utterances whose finals are not out yet: how far inference lags behind this session. */
  get pendingFinalMs(): number {
    return samplesToMs(this.pendingFinalSamples);
  }

  /** Takes effect from the next utterance. Throws SessionError and keeps the current language when refused. */
  setLanguage(code: string): void {
    this.assertOpen();
    this.requestedLanguage = this.languages.check(code);
    this.detectedLanguage = null;
  }

  /** Ingests s16le PCM bytes (an even number of them). */
  pushAudio(pcm: Uint8Array): void {
    this.assertOpen();
    const from = this.ring.written;
    this.ring.write(pcm);
    for (const view of this.ring.views(Math.max(from, this.ring.oldest), this.ring.written)) this.detect(this.vad.push(view));
    this.requestPartial();
  }

  /** Ends the current utterance now, as if the speaker had paused. */
  flush(): void {
    this.assertOpen();
    for (const event of this.detector.flush(this.ring.written)) this.onBoundary(event);
  }

  /**
   * Finalizes everything received, including speech too short to have opened an utterance, and resolves once the
   * last final has been emitted. Later audio and commands are refused.
   */
  end(): Promise<void> {
    if (this.ending) return this.ending;
    this.assertOpen();
    this.detect(this.vad.flush());
    for (const event of this.detector.flush(this.ring.written)) this.onBoundary(event);
    this.ending = Promise.all(this.finals).then(() => undefined);
    return this.ending;
  }

  /** Drops queued work and frees the VAD; results still running are ignored. Safe to call more than once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.current = null;
    this.scheduler.cancel(this);
    this.vad.free();
  }

  private assertOpen(): void {
    if (this.closed || this.ending) throw new SessionError('session_ended', 'the session has ended; open a new connection');
  }

  private detect(probabilities: Float32Array): void {
    for (let i = 0; i < probabilities.length; i++) {
      const event = this.detector.process(probabilities[i] as number);
      if (event) this.onBoundary(event);
    }
  }

  private onBoundary(event: UtteranceEvent): void {
    switch (event.type) {
      case 'start':
        this.current = this.open(event.startSample);
        return;
      case 'pause':
        if (this.current) this.startEarlyFinal(this.current, event.endSample);
        return;
      case 'resume':
        if (this.current) this.dropEarlyFinal(this.current);
        return;
      case 'end':
        if (this.current) this.finish(this.current, event.endSample);
        this.current = null;
        return;
      case 'cut':
        if (this.current) this.finish(this.current, event.cutSample);
        this.current = this.open(event.cutSample);
        return;
    }
  }

  private open(startSample: number): Utterance {
    const start = Math.min(startSample, this.ring.written);
    return {
      segmentId: this.nextSegmentId++,
      startSample: start,
      endSample: null,
      language: this.language,
      stabilizer: new PartialStabilizer(),
      lastPartial: '',
      lastLanguage: this.language,
      partialPending: false,
      partialCoveredTo: start,
      early: null,
    };
  }

  private requestPartial(): void {
    if (!this.settings.partials) return;
    if (this.settings.strategy === 'naive') return this.requestNaivePartial();
    const utterance = this.current;
    // Nothing new is being said during a pause, and a partial would only delay the final that may follow.
    if (!utterance || utterance.partialPending || !this.detector.speaking) return;
    if (this.ring.written - utterance.partialCoveredTo < this.partialInterval) return;
    utterance.partialPending = true;
    this.scheduler.partial(this, () => this.partialTask(utterance)).then(
      (result) => {
        utterance.partialPending = false;
        this.onPartial(utterance, result);
        this.requestPartial();
      },
      (error: unknown) => {
        utterance.partialPending = false;
        this.fail(error);
      },
    );
  }

  private partialTask(utterance: Utterance): TranscriptionTask | null {
    if (this.closed || utterance !== this.current) return null;
    const to = this.ring.written;
    utterance.partialCoveredTo = to;
    return {
      kind: 'partial',
      pcm: this.ring.copy(utterance.startSample, to),
      options: this.options(utterance.language, to - utterance.startSample, { beamSize: 1 }),
    };
  }

  /** Whether or not anyone speaks; the result only shows if an utterance is open when it comes back. */
  private requestNaivePartial(): void {
    if (this.closed || this.ending || this.naivePending || this.ring.written - this.naiveCoveredTo < this.partialInterval) return;
    this.naivePending = true;
    let utterance: Utterance | null = null;
    this.scheduler
      .partial(this, () => {
        if (this.closed) return null;
        utterance = this.current;
        const to = this.ring.written;
        const from = Math.max(this.ring.oldest, to - msToSamples(NAIVE_WINDOW_MS));
        this.naiveCoveredTo = to;
        if (utterance) utterance.partialCoveredTo = to;
        return { kind: 'partial', pcm: this.ring.copy(from, to), options: this.options(utterance?.language ?? this.language, to - from, { beamSize: 1 }) };
      })
      .then(
        (result) => {
          this.naivePending = false;
          if (utterance && utterance === this.current) this.onPartial(utterance, result);
          this.requestPartial();
        },
        (error: unknown) => {
          this.naivePending = false;
          this.fail(error);
        },
      );
  }

  private onPartial(utterance: Utterance, result: JobResult): void {
    if (!result || this.closed || utterance.endSample !== null) return;
    const text = stripPunctuation(speechText(result));
    if (!text) return;
    const shown = utterance.stabilizer.update(text);
    if (shown === utterance.lastPartial) return;
    utterance.lastPartial = shown;
    utterance.lastLanguage = result.language;
    this.emitTranscript(utterance, shown, false, result.language, utterance.partialCoveredTo);
  }

  /**
   * Transcribes the utterance as it would end if the pause lasts, while the end-of-speech silence is still being
   * waited out; if it does end there, its final is ready that much sooner.
   */
  private startEarlyFinal(utterance: Utterance, endSample: number): void {
    this.dropEarlyFinal(utterance);
    this.scheduler.abortPartial(this);
    const withdraw = new AbortController();
    const pcm = this.ring.copy(utterance.startSample, Math.min(endSample, this.ring.written));
    const result = this.submitFinal(utterance, pcm, withdraw.signal);
    // A withdrawn early final's failure concerns nobody; an adopted one's is handled where it is adopted.
    result.catch(() => undefined);
    utterance.early = { endSample, withdraw, result };
  }

  private dropEarlyFinal(utterance: Utterance): void {
    utterance.early?.withdraw.abort();
    utterance.early = null;
  }

  private finish(utterance: Utterance, endSample: number): void {
    const end = Math.max(utterance.startSample, Math.min(endSample, this.ring.written));
    utterance.endSample = end;
    this.scheduler.abortPartial(this);
    const early = utterance.early;
    utterance.early = null;
    let result: Promise<JobResult>;
    if (early && early.endSample === end) {
      result = early.result;
    } else {
      early?.withdraw.abort();
      result = this.submitFinal(utterance, this.ring.copy(utterance.startSample, end));
    }
    const done = result.then(
      (outcome) => this.onFinal(utterance, outcome),
      (error: unknown) => {
        this.fail(error);
        this.onFinal(utterance, null);
      },
    );
    const samples = end - utterance.startSample;
    this.pendingFinalSamples += samples;
    this.finals.add(done);
    void done.finally(() => {
      this.finals.delete(done);
      this.pendingFinalSamples -= samples;
    });
  }

  private submitFinal(utterance: Utterance, pcm: Int16Array, signal?: AbortSignal): Promise<JobResult> {
    return this.scheduler.final(
      this,
      () => ({ kind: 'final', pcm, options: this.options(utterance.language, pcm.length, { beamSize: this.settings.finalBeamSize, prompt: this.previousFinal }) }),
      signal,
    );
  }

  private onFinal(utterance: Utterance, result: TranscriptionOutcome | null): void {
    if (this.closed) return;
    const text = result ? speechText(result) : '';
    const sentPartials = utterance.lastPartial !== '';
    if (!text && !sentPartials) return;
    const language = result?.language ?? utterance.lastLanguage;
    if (text) {
      this.previousFinal = text;
      if (this.requestedLanguage === 'auto' && !this.detectedLanguage && result) this.detectedLanguage = result.language;
    }
    this.emitTranscript(utterance, text, true, language, utterance.endSample ?? utterance.startSample);
  }

  private options(requested: string, samples: number, extra: TranscribeOptions): TranscribeOptions {
    const language = requested === 'auto' ? (this.detectedLanguage ?? 'auto') : requested;
    const perSecond = language === 'en' ? TOKENS_PER_SECOND_EN : TOKENS_PER_SECOND_OTHER;
    return {
      language,
      audioCtx: this.settings.strategy === 'naive' ? 'full' : 'auto',
      maxTokens: Math.min(MAX_TOKENS, Math.ceil((samples / SAMPLE_RATE) * perSecond) + TOKEN_MARGIN),
      singleSegment: true,
      noTimestamps: true,
      temperatureFallback: false,
      threads: this.settings.threads,
      ...extra,
    };
  }

  private emitTranscript(utterance: Utterance, text: string, isFinal: boolean, language: string, endSample: number): void {
    this.emit('transcript', {
      text,
      isFinal,
      language,
      segmentId: utterance.segmentId,
      seq: this.seq++,
      startMs: samplesToMs(utterance.startSample),
      endMs: samplesToMs(endSample),
    });
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    const message = error instanceof Error ? error.message : String(error);
    this.emit('failure', new SessionError('transcription_failed', `transcription failed: ${message}`));
  }
}
