/**
 * The session core: one audio stream's pipeline. Ring buffer, speech detection (injected), utterance boundaries,
 * partials over a committed window, early finals, decode options and text clean-up. It knows nothing of sockets:
 * audio and commands come in as method calls, transcripts leave as events, so any transport (or none) can drive it.
 *
 * Message invariant: each segment's messages are zero or more partials followed by exactly one final, and all of
 * them come before any message of the next segment. A final whose text is filtered away (silence, non-speech) is
 * still sent, with text '', when partials of it were sent, so a client can clear them; otherwise nothing is sent.
 */
import { EventEmitter } from 'node:events';
import { PcmRingBuffer } from '../audio/pcm-ring-buffer.js';
import { CommittedWindow, type WindowPlan } from './committed-window.js';
import { decodeOptions } from './decode-options.js';
import { EarlyFinal } from './early-final.js';
import type { LanguagePolicy } from './language-policy.js';
import type { JobResult, TranscriptionScheduler } from './scheduler.js';
import { speechText, stripPunctuation } from './text-filters.js';
import { MAX_END_SILENCE_MS, PRE_PAD_MS, UtteranceDetector, type UtteranceEvent } from './utterance-detector.js';
import {
  SessionError,
  msToSamples,
  type SessionCheckpoint,
  samplesToMs,
  type SpeechDetector,
  type StreamSettings,
  type TranscriptEvent,
  type TranscriptionOutcome,
  type Word,
} from './types.js';
import { shiftWords, wordsOf } from './words.js';

/** Shortest end-of-utterance silence a session may ask for: less would split words at their stops. */
export const MIN_END_SILENCE_MS = 100;
/** Longest frame a session must absorb at once; the protocol refuses longer ones. */
export const MAX_FRAME_MS = 1000;
/** The naive strategy's window: whisper.cpp's `stream` example re-reads its last 10 s (`--length 10000`). */
const NAIVE_WINDOW_MS = 10_000;
/** Committed-window partials: see CommittedWindow and docs/PROTOCOL.md. */
export const PARTIAL_OVERLAP_MS = 200;
export const PARTIAL_MAX_TAIL_MS = 2000;
/** What a forced commit leaves of the tail: its newest 0.8 s, which the next partials may still revise. */
export const PARTIAL_FORCED_KEEP_MS = 800;
const PARTIAL_PROMPT_CHARS = 100;
/** Finals are prompted with the previous final (and the client's hint): as much as Whisper reads, about 1 KB. */
const FINAL_PROMPT_CHARS = 1000;
/** How far speech detection may lag behind the audio before an utterance's start leaves the ring buffer. */
const DETECTION_SLACK_MS = 5000;
/** Audio positions of utterance bounds are whole milliseconds, so a final's start_ms/end_ms name its samples exactly. */
const SAMPLES_PER_MS = 16;

export interface StreamSessionOptions {
  scheduler: TranscriptionScheduler;
  detector: SpeechDetector;
  languages: LanguagePolicy;
  /** Language of every utterance until the client asks for another; already checked against `languages`. */
  defaultLanguage: string;
  settings: StreamSettings;
  /** The current audio time between partials (the load controller widens it under load); default the setting's. */
  partialIntervalMs?: () => number;
  /** Carries on a session from its checkpoint (see checkpoint()); its next transcript is numbered `nextSeq`. */
  restore?: { checkpoint: SessionCheckpoint; nextSeq: number };
}

/** Speech began (an utterance opened) or stopped (it ended, or was cut), at `ms` of session audio. */
export interface SpeechEvent {
  type: 'started' | 'stopped';
  segmentId: number;
  ms: number;
}

/** What a partial cost: worker time, and how long the utterance and the window it read were. */
export interface PartialWork {
  utteranceMs: number;
  windowMs: number;
  workerMs: number;
}

export interface StreamSessionEvents {
  transcript: [TranscriptEvent];
  speech: [SpeechEvent];
  partialWork: [PartialWork];
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
  window: CommittedWindow;
  lastPartial: string;
  /** Committed words the latest partial carried: more of them is news even when the text reads the same. */
  lastStableWords: number;
  /** Language of the newest partial, for the closing final when its transcription fails. */
  lastLanguage: string;
  partialPending: boolean;
  /** Newest sample the latest partial covered; the partial clock runs on audio time from here. */
  partialCoveredTo: number;
  early: EarlyFinal | null;
}

export class StreamSession extends EventEmitter<StreamSessionEvents> {
  private readonly scheduler: TranscriptionScheduler;
  private readonly detector: SpeechDetector;
  private readonly languages: LanguagePolicy;
  private readonly settings: StreamSettings;
  private readonly ring: PcmRingBuffer;
  private readonly boundaries: UtteranceDetector;
  private readonly partialIntervalMs: () => number;
  private requestedLanguage: string;
  /** The language `auto` settled on with the first final that had text. */
  private detectedLanguage: string | null = null;
  private current: Utterance | null = null;
  private readonly finals = new Set<Promise<void>>();
  /** Ended utterances whose final has not been emitted (or dropped as empty) yet. */
  private readonly unfinalized = new Set<Utterance>();
  private pendingFinalSamples = 0;
  private previousFinal = '';
  /** The newest partial that waits for the finals before it (see showPartial). */
  private held: { utterance: Utterance; shown: string; language: string; words: Word[] } | null = null;
  /** The client's vocabulary hint, before every prompt. */
  private hint = '';
  /** Speech detection results not yet applied, in order: commands wait for them to see every boundary. */
  private detection: Promise<void> = Promise.resolve();
  /** Naive strategy: newest sample its latest partial covered, and whether one is on its way. */
  private naiveCoveredTo = 0;
  private naivePending = false;
  private nextSegmentId = 0;
  private seq = 0;
  /**
   * Absolute position of the ring's first sample: a restored session's audio starts where its checkpoint was taken.
   * Everything inside counts from the ring's start; what leaves (transcripts, speech events) is shifted by it.
   */
  private readonly origin: number;
  private endSilenceMs: number | null;
  private ending: Promise<void> | null = null;
  private closed = false;

  constructor(options: StreamSessionOptions) {
    super();
    this.scheduler = options.scheduler;
    this.detector = options.detector;
    this.languages = options.languages;
    this.settings = options.settings;
    this.requestedLanguage = options.defaultLanguage;
    this.partialIntervalMs = options.partialIntervalMs ?? (() => this.settings.partialIntervalMs);
    this.endSilenceMs = this.settings.endSilenceMs;
    this.boundaries = new UtteranceDetector({
      windowSamples: this.detector.windowSamples,
      endSilenceMs: this.settings.endSilenceMs,
      maxUtteranceMs: this.settings.maxUtteranceMs,
    });
    // Enough to copy an utterance out after its end is detected: longest utterance, its lead-in, the silence that
    // ends it, one more frame of audio, and what the detector (on another thread) may still be working on.
    const holdMs = this.settings.maxUtteranceMs + PRE_PAD_MS + MAX_END_SILENCE_MS + MAX_FRAME_MS + DETECTION_SLACK_MS;
    this.ring = new PcmRingBuffer(msToSamples(holdMs) + 2 * this.detector.windowSamples);
    const restore = options.restore;
    this.origin = restore?.checkpoint.audioSample ?? 0;
    if (restore) {
      const { checkpoint } = restore;
      this.seq = restore.nextSeq;
      this.nextSegmentId = checkpoint.nextSegmentId;
      this.previousFinal = checkpoint.previousFinal;
      this.requestedLanguage = this.languages.check(checkpoint.requestedLanguage);
      this.detectedLanguage = checkpoint.detectedLanguage;
      this.hint = checkpoint.hint;
      this.setEndpointing(checkpoint.endSilenceMs);
    }
  }

  /** The language the next utterance will be transcribed in (`auto` until detection settles it). */
  get language(): string {
    return this.detectedLanguage ?? this.requestedLanguage;
  }

  /** Samples received so far; audio time in transcripts counts from the first of them. */
  get samplesReceived(): number {
    return this.origin + this.ring.written;
  }

  /** Audio of ended utterances whose finals are not out yet: how far inference lags behind this session. */
  get pendingFinalMs(): number {
    return samplesToMs(this.pendingFinalSamples);
  }

  /** The seq the next transcript will carry: every transcript so far has a lower one. */
  get nextSeq(): number {
    return this.seq;
  }

  /**
   * A vocabulary and style hint (names, terms) that goes before the prompt of every transcription from now on; ''
   * removes it. The engine keeps only a prompt's last 1 KB, so keep hints short.
   */
  setPrompt(prompt: string): void {
    this.assertOpen();
    this.hint = prompt.trim();
  }

  /**
   * The silence that ends an utterance, from now on (100 ms to MAX_END_SILENCE_MS); null: only flush() and the
   * maximum utterance length end one (a client that decides turns itself).
   */
  setEndpointing(silenceMs: number | null): void {
    this.assertOpen();
    if (silenceMs !== null && !(silenceMs >= MIN_END_SILENCE_MS && silenceMs <= MAX_END_SILENCE_MS)) {
      throw new SessionError('bad_option', `end-of-speech silence must be from ${MIN_END_SILENCE_MS} to ${MAX_END_SILENCE_MS} ms, or none`);
    }
    this.boundaries.setEndSilence(silenceMs);
    this.endSilenceMs = silenceMs;
  }

  /**
   * Where this session could be restored from now (see SessionCheckpoint): the start of the oldest utterance whose
   * final is not out, or, when none is open, of speech that may be starting in audio not yet through detection.
   */
  checkpoint(): SessionCheckpoint {
    let from = this.boundaries.openFrom;
    let segmentId = this.current?.segmentId ?? this.nextSegmentId;
    for (const utterance of this.unfinalized) {
      from = Math.min(from, utterance.startSample);
      segmentId = Math.min(segmentId, utterance.segmentId);
    }
    return {
      audioSample: this.origin + this.wholeMs(Math.min(from, this.ring.written)),
      nextSegmentId: segmentId,
      previousFinal: this.previousFinal,
      requestedLanguage: this.requestedLanguage,
      detectedLanguage: this.detectedLanguage,
      hint: this.hint,
      endSilenceMs: this.endSilenceMs,
    };
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
    for (const view of this.ring.views(Math.max(from, this.ring.oldest), this.ring.written)) this.detect(this.detector.push(view));
    this.requestPartial();
  }

  /** Ends the current utterance once the audio sent before it has been through speech detection. */
  flush(): Promise<void> {
    this.assertOpen();
    return this.afterDetection(() => {
      for (const event of this.boundaries.flush(this.wholeMs(this.ring.written))) this.onBoundary(event);
    });
  }

  /** Resolves once the utterances that have ended so far have had their finals emitted (or dropped as empty). */
  finalsSettled(): Promise<void> {
    return Promise.all([...this.finals]).then(() => undefined);
  }

  /**
   * Finalizes everything received, including speech too short to have opened an utterance, and resolves once the
   * last final has been emitted. Later audio and commands are refused.
   */
  end(): Promise<void> {
    if (this.ending) return this.ending;
    this.assertOpen();
    this.detect(this.detector.flush());
    this.ending = this.afterDetection(() => {
      for (const event of this.boundaries.flush(this.wholeMs(this.ring.written))) this.onBoundary(event);
    }).then(() => this.allFinals());
    return this.ending;
  }

  /** Drops queued work and frees the detector; results still running are ignored. Safe to call more than once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.current?.early?.withdraw();
    this.current = null;
    this.scheduler.cancel(this);
    this.detector.close();
  }

  private async allFinals(): Promise<void> {
    while (this.finals.size > 0) await Promise.all(this.finals);
  }

  private assertOpen(): void {
    if (this.closed || this.ending) throw new SessionError('session_ended', 'the session has ended; open a new connection');
  }

  /**
   * Samples [from, to) from the ring. Only when detection lagged by more than DETECTION_SLACK_MS has the start been
   * overwritten; the oldest audio held is then the best there is.
   */
  private copy(from: number, to: number): Int16Array {
    return this.ring.copy(Math.min(to, Math.max(from, this.ring.oldest)), to);
  }

  private wholeMs(sample: number): number {
    return sample - (sample % SAMPLES_PER_MS);
  }

  private afterDetection(step: () => void): Promise<void> {
    const done = this.detection.then(() => {
      if (!this.closed) step();
    });
    this.detection = done.catch(() => undefined);
    return done;
  }

  private detect(probabilities: Promise<Float32Array>): void {
    this.detection = this.detection
      .then(() => probabilities)
      .then(
        (probs) => {
          if (this.closed) return;
          for (let i = 0; i < probs.length; i++) {
            const event = this.boundaries.process(probs[i] as number);
            if (event) this.onBoundary(event);
          }
          this.requestPartial();
        },
        (error: unknown) => this.fail(error),
      );
  }

  private onBoundary(event: UtteranceEvent): void {
    switch (event.type) {
      case 'start':
        this.current = this.open(event.startSample);
        this.emit('speech', { type: 'started', segmentId: this.current.segmentId, ms: samplesToMs(this.origin + this.current.startSample) });
        return;
      case 'pause':
        if (this.current && this.settings.earlyFinals) this.startEarlyFinal(this.current, event.endSample);
        return;
      case 'resume':
        this.current?.early?.withdraw();
        if (this.current) this.current.early = null;
        return;
      case 'end':
        if (this.current) this.finish(this.current, event.endSample);
        this.current = null;
        return;
      case 'cut':
        if (this.current) this.finish(this.current, event.cutSample);
        this.current = this.open(event.cutSample);
        this.emit('speech', { type: 'started', segmentId: this.current.segmentId, ms: samplesToMs(this.origin + this.current.startSample) });
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
      window: new CommittedWindow(start, { overlapMs: PARTIAL_OVERLAP_MS, maxTailMs: PARTIAL_MAX_TAIL_MS, keepMs: PARTIAL_FORCED_KEEP_MS }),
      lastPartial: '',
      lastStableWords: 0,
      lastLanguage: this.language,
      partialPending: false,
      partialCoveredTo: start,
      early: null,
    };
  }

  private requestPartial(): void {
    if (!this.settings.partials || this.closed || this.ending) return;
    if (this.settings.strategy === 'naive') return this.requestNaivePartial();
    const utterance = this.current;
    // Nothing new is being said during a pause, and a partial would only delay the final that may follow.
    if (!utterance || utterance.partialPending || !this.boundaries.speaking) return;
    if (this.ring.written - utterance.partialCoveredTo < msToSamples(this.partialIntervalMs())) return;
    utterance.partialPending = true;
    let plan: WindowPlan | null = null;
    this.scheduler
      .partial(this, () => {
        if (this.closed || utterance !== this.current) return null;
        plan = utterance.window.plan(this.ring.written);
        utterance.partialCoveredTo = plan.toSample;
        const samples = plan.toSample - plan.fromSample;
        return {
          kind: 'partial',
          pcm: this.copy(plan.fromSample, plan.toSample),
          options: decodeOptions('partial', this.engineLanguage(utterance.language), samples, this.withHint(plan.prompt, PARTIAL_PROMPT_CHARS), this.settings),
        };
      })
      .then(
        (result) => {
          utterance.partialPending = false;
          if (result && plan) this.onPartial(utterance, plan, result);
          this.requestPartial();
        },
        (error: unknown) => {
          utterance.partialPending = false;
          this.fail(error);
        },
      );
  }

  /** Whether or not anyone speaks; the result only shows if an utterance is open when it comes back. */
  private requestNaivePartial(): void {
    if (this.naivePending || this.ring.written - this.naiveCoveredTo < msToSamples(this.partialIntervalMs())) return;
    this.naivePending = true;
    let utterance: Utterance | null = null;
    let plan: WindowPlan | null = null;
    this.scheduler
      .partial(this, () => {
        if (this.closed) return null;
        utterance = this.current;
        const to = this.ring.written;
        const from = Math.max(this.ring.oldest, to - msToSamples(NAIVE_WINDOW_MS));
        this.naiveCoveredTo = to;
        if (utterance) utterance.partialCoveredTo = to;
        plan = { fromSample: from, toSample: to, prompt: '' };
        return { kind: 'partial', pcm: this.copy(from, to), options: decodeOptions('partial', this.engineLanguage(utterance?.language ?? this.language), to - from, this.hint, this.settings) };
      })
      .then(
        (result) => {
          this.naivePending = false;
          if (result && plan && utterance && utterance === this.current) this.onNaivePartial(utterance, result);
          this.requestPartial();
        },
        (error: unknown) => {
          this.naivePending = false;
          this.fail(error);
        },
      );
  }

  private onPartial(utterance: Utterance, plan: WindowPlan, result: TranscriptionOutcome): void {
    this.emit('partialWork', {
      utteranceMs: samplesToMs(plan.toSample - utterance.startSample),
      windowMs: samplesToMs(plan.toSample - plan.fromSample),
      workerMs: result.timings.totalMs,
    });
    if (this.closed || utterance.endSample !== null) return;
    const text = stripPunctuation(speechText(result));
    const heard = shiftWords(wordsOf(text, result, samplesToMs(plan.toSample - plan.fromSample)), samplesToMs(plan.fromSample));
    utterance.window.accept(plan, heard);
    this.showPartial(utterance, utterance.window.text, result.language, [...utterance.window.stable]);
  }

  private onNaivePartial(utterance: Utterance, result: TranscriptionOutcome): void {
    if (this.closed || utterance.endSample !== null) return;
    this.showPartial(utterance, stripPunctuation(speechText(result)), result.language, []);
  }

  private showPartial(utterance: Utterance, shown: string, language: string, words: Word[]): void {
    if (!shown || (shown === utterance.lastPartial && words.length === utterance.lastStableWords)) return;
    // A partial of a new utterance must not overtake the final of the one before: it waits for it (see releaseHeld).
    if (this.finals.size > 0) {
      this.held = { utterance, shown, language, words };
      return;
    }
    utterance.lastPartial = shown;
    utterance.lastStableWords = words.length;
    utterance.lastLanguage = language;
    this.emitTranscript(utterance, shown, false, language, utterance.partialCoveredTo, words);
  }

  private startEarlyFinal(utterance: Utterance, endSample: number): void {
    utterance.early?.withdraw();
    this.scheduler.abortPartial(this);
    const pcm = this.copy(utterance.startSample, Math.min(endSample, this.ring.written));
    utterance.early = new EarlyFinal(endSample, (signal) => this.submitFinal(utterance, pcm, signal));
  }

  private finish(utterance: Utterance, endSample: number): void {
    const end = this.wholeMs(Math.max(utterance.startSample, Math.min(endSample, this.ring.written)));
    utterance.endSample = Math.max(utterance.startSample, end);
    this.emit('speech', { type: 'stopped', segmentId: utterance.segmentId, ms: samplesToMs(this.origin + utterance.endSample) });
    this.scheduler.abortPartial(this);
    const early = utterance.early;
    utterance.early = null;
    const result = early?.adopt(utterance.endSample) ?? this.submitFinal(utterance, this.copy(utterance.startSample, utterance.endSample));
    const done = result.then(
      (outcome) => this.onFinal(utterance, outcome),
      (error: unknown) => {
        this.fail(error);
        this.onFinal(utterance, null);
      },
    );
    const samples = utterance.endSample - utterance.startSample;
    this.unfinalized.add(utterance);
    this.pendingFinalSamples += samples;
    this.finals.add(done);
    void done.finally(() => {
      this.finals.delete(done);
      this.pendingFinalSamples -= samples;
      if (this.finals.size === 0) this.releaseHeld();
    });
  }

  /** Shows the partial held back while earlier finals were out, if its utterance is still going on. */
  private releaseHeld(): void {
    const held = this.held;
    this.held = null;
    if (held && !this.closed && held.utterance === this.current && held.utterance.endSample === null) {
      this.showPartial(held.utterance, held.shown, held.language, held.words);
    }
  }

  private submitFinal(utterance: Utterance, pcm: Int16Array, signal?: AbortSignal): Promise<JobResult> {
    return this.scheduler.final(
      this,
      () => ({ kind: 'final', pcm, options: decodeOptions('final', this.engineLanguage(utterance.language), pcm.length, this.withHint(this.previousFinal, FINAL_PROMPT_CHARS), this.settings) }),
      signal,
    );
  }

  private onFinal(utterance: Utterance, result: TranscriptionOutcome | null): void {
    this.unfinalized.delete(utterance);
    if (this.closed) return;
    const text = result ? speechText(result) : '';
    const sentPartials = utterance.lastPartial !== '';
    if (!text && !sentPartials) return;
    const language = result?.language ?? utterance.lastLanguage;
    if (text) {
      this.previousFinal = text;
      if (this.requestedLanguage === 'auto' && !this.detectedLanguage && result) this.detectedLanguage = result.language;
    }
    const endSample = utterance.endSample ?? utterance.startSample;
    const words = result && text ? shiftWords(wordsOf(text, result, samplesToMs(endSample - utterance.startSample)), samplesToMs(utterance.startSample)) : [];
    this.emitTranscript(utterance, text, true, language, endSample, words);
  }

  /** The client's hint, then as much of `context`'s end as fits in `limit` characters with it. */
  private withHint(context: string, limit: number): string {
    if (!this.hint) return context.length > limit ? context.slice(context.length - limit) : context;
    const room = limit - this.hint.length - 1;
    if (room <= 0 || !context) return this.hint;
    return `${this.hint} ${context.length > room ? context.slice(context.length - room) : context}`;
  }

  /** The language to ask the engine for: the requested one, or the detected one once `auto` has settled. */
  private engineLanguage(requested: string): string {
    return requested === 'auto' ? (this.detectedLanguage ?? 'auto') : requested;
  }

  private emitTranscript(utterance: Utterance, text: string, isFinal: boolean, language: string, endSample: number, words: Word[]): void {
    this.emit('transcript', {
      text,
      isFinal,
      language,
      segmentId: utterance.segmentId,
      seq: this.seq++,
      startMs: samplesToMs(this.origin + utterance.startSample),
      endMs: samplesToMs(this.origin + endSample),
      words: this.origin === 0 ? words : shiftWords(words, samplesToMs(this.origin)),
    });
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof Error && typeof Reflect.get(error, 'code') === 'string' ? ` (${String(Reflect.get(error, 'code'))})` : '';
    this.emit('failure', new SessionError('transcription_failed', `transcription failed${code}: ${message}`));
  }

  /**
   * Drops the audio received so far that no utterance has ended over, once speech detection has seen it: the open
   * utterance gets no final, though partials of it may have been sent (the caller asked for that). Utterances that
   * ended before are not touched, and detection goes on with the audio that follows.
   */
  discard(): Promise<void> {
    this.assertOpen();
    return this.afterDetection(() => {
      this.boundaries.flush(this.wholeMs(this.ring.written));
      const utterance = this.current;
      if (!utterance) return;
      this.current = null;
      // An ended utterance's late partial results are dropped (onPartial), and its early final is not wanted.
      utterance.endSample = utterance.startSample;
      utterance.early?.withdraw();
      this.scheduler.abortPartial(this);
    });
  }
}
