/**
 * One audio stream's pipeline: the thin async driver around the session core (session-core.ts). It owns the audio
 * (ring buffer), runs speech detection (injected) in order, hands the core's partials and finals to the scheduler
 * with their deadlines, and feeds the results back. It knows nothing of sockets: audio and commands come in as
 * method calls, transcripts leave as events, so any transport (or none) can drive it.
 */
import { EventEmitter } from 'node:events';
import { PcmRingBuffer } from '../audio/pcm-ring-buffer.js';
import { ArrivalClock } from './arrival-clock.js';
import { decodeOptions } from './decode-options.js';
import type { LanguagePolicy } from './language-policy.js';
import { PARTIAL_CADENCE_MS } from './partial-policy.js';
import type { JobResult, TranscriptionScheduler } from './scheduler.js';
import { SessionCore, type CoreEffects, type FinalRequest, type PartialPlan } from './session-core.js';
import { MAX_END_SILENCE_MS, PRE_PAD_MS } from './utterance-detector.js';
import {
  SessionError,
  msToSamples,
  samplesToMs,
  type SessionCheckpoint,
  type SpeechDetector,
  type SpeechEvent,
  type StreamSettings,
  type TranscriptEvent,
} from './types.js';
import { shiftWords } from './words.js';

/** Shortest end-of-turn silence a session may ask for: less would split words at their stops. */
export const MIN_END_SILENCE_MS = 100;
/** Longest frame a session must absorb at once; the protocol refuses longer ones. */
export const MAX_FRAME_MS = 1000;
/** A final is due this long after the audio it covers arrived. */
export const FINAL_DEADLINE_MS = 2000;
/** How far speech detection may lag behind the audio before a segment's start leaves the ring buffer. */
const DETECTION_SLACK_MS = 5000;

export interface StreamSessionOptions {
  scheduler: TranscriptionScheduler;
  detector: SpeechDetector;
  languages: LanguagePolicy;
  /** Language of every turn until the client asks for another; already checked against `languages`. */
  defaultLanguage: string;
  settings: StreamSettings;
  /** The current audio time between partials (the load controller widens it under load); default the setting's. */
  partialIntervalMs?: () => number;
  /** Carries on a session from its checkpoint (see checkpoint()); its next transcript is numbered `nextSeq`. */
  restore?: { checkpoint: SessionCheckpoint; nextSeq: number };
  /** The clock deadlines are set on (performance.now() time); the scheduler must use the same. */
  now?: () => number;
}

/** What a partial cost: worker time, and how long the speech turn and the window it read were. */
export interface PartialWork {
  turnMs: number;
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

export class StreamSession extends EventEmitter<StreamSessionEvents> {
  private readonly scheduler: TranscriptionScheduler;
  private readonly detector: SpeechDetector;
  private readonly languages: LanguagePolicy;
  private readonly settings: StreamSettings;
  private readonly ring: PcmRingBuffer;
  private readonly core: SessionCore;
  private readonly arrivals = new ArrivalClock();
  private readonly now: () => number;
  private readonly partialIntervalMs: () => number;
  /** Finals asked for and not settled, with what withdraws each. */
  private readonly finals = new Map<FinalRequest, { withdraw: AbortController; settled: Promise<void> }>();
  /** Speech detection results not yet applied, in order: commands wait for them to see every boundary. */
  private detection: Promise<void> = Promise.resolve();
  /** When the stream last showed something new (or its speech began): its next partial is due a cadence later. */
  private cadenceFrom = 0;
  /**
   * Absolute position of the ring's first sample: a restored session's audio starts where its checkpoint was taken.
   * Everything inside counts from the ring's start; what leaves (transcripts, speech events) is shifted by it.
   */
  private readonly origin: number;
  private ending: Promise<void> | null = null;
  private closed = false;

  constructor(options: StreamSessionOptions) {
    super();
    this.scheduler = options.scheduler;
    this.detector = options.detector;
    this.languages = options.languages;
    this.settings = options.settings;
    this.now = options.now ?? (() => performance.now());
    this.partialIntervalMs = options.partialIntervalMs ?? (() => this.settings.partialIntervalMs);
    // Enough to copy a segment out after its end is detected: the longest segment, its lead-in, the silence that
    // ends it, one more frame of audio, and what the detector (on another thread) may still be working on.
    const holdMs = this.settings.maxUtteranceMs + PRE_PAD_MS + MAX_END_SILENCE_MS + MAX_FRAME_MS + DETECTION_SLACK_MS;
    this.ring = new PcmRingBuffer(msToSamples(holdMs) + 2 * this.detector.windowSamples);
    const restore = options.restore;
    this.origin = restore?.checkpoint.audioSample ?? 0;
    const checked = restore
      ? {
          ...restore,
          checkpoint: {
            ...restore.checkpoint,
            requestedLanguage: this.languages.check(restore.checkpoint.requestedLanguage),
          },
        }
      : undefined;
    this.core = new SessionCore({
      settings: this.settings,
      windowSamples: this.detector.windowSamples,
      partialIntervalMs: this.partialIntervalMs,
      language: options.defaultLanguage,
      effects: this.effects(),
      ...(checked ? { restore: checked } : {}),
    });
  }

  /** The language the next turn will be transcribed in (`auto` until detection settles it). */
  get language(): string {
    return this.core.language;
  }

  /** Samples received so far; audio time in transcripts counts from the first of them. */
  get samplesReceived(): number {
    return this.origin + this.ring.written;
  }

  /** Audio of closed segments whose finals are not out yet: how far inference lags behind this session. */
  get pendingFinalMs(): number {
    return samplesToMs(this.core.pendingFinalSamples);
  }

  /** The seq the next transcript will carry: every transcript so far has a lower one. */
  get nextSeq(): number {
    return this.core.nextSeqNumber;
  }

  /** When the audio up to absolute sample `sample` arrived (see ArrivalClock), if it is recent enough to know. */
  arrivalOf(sample: number): number | undefined {
    return this.arrivals.arrivalOf(sample);
  }

  /**
   * A vocabulary and style hint (names, terms) that goes before the prompt of every transcription from now on; ''
   * removes it. The engine keeps only a prompt's last 1 KB, so keep hints short.
   */
  setPrompt(prompt: string): void {
    this.assertOpen();
    this.core.setPrompt(prompt.trim());
  }

  /**
   * The silence that ends a turn, from now on (100 ms to MAX_END_SILENCE_MS); null: only flush() and the segment
   * limits end one (a client that decides turns itself).
   */
  setEndpointing(silenceMs: number | null): void {
    this.assertOpen();
    if (silenceMs !== null && !(silenceMs >= MIN_END_SILENCE_MS && silenceMs <= MAX_END_SILENCE_MS)) {
      throw new SessionError(
        'bad_option',
        `end-of-speech silence must be from ${MIN_END_SILENCE_MS} to ${MAX_END_SILENCE_MS} ms, or none`,
      );
    }
    this.core.setEndpointing(silenceMs);
  }

  /** Where this session could be restored from now (see SessionCheckpoint and SessionCore.checkpoint). */
  checkpoint(): SessionCheckpoint {
    return this.core.checkpoint(this.origin);
  }

  /** Takes effect from the next turn. Throws SessionError and keeps the current language when refused. */
  setLanguage(code: string): void {
    this.assertOpen();
    this.core.setLanguage(this.languages.check(code));
  }

  /** Ingests s16le PCM bytes (an even number of them). */
  pushAudio(pcm: Uint8Array): void {
    this.assertOpen();
    const from = this.ring.written;
    this.ring.write(pcm);
    this.arrivals.mark(this.samplesReceived, this.now());
    for (const view of this.ring.views(Math.max(from, this.ring.oldest), this.ring.written))
      this.detect(this.detector.push(view));
    this.core.audio(this.ring.written);
  }

  /** Ends the current turn once the audio sent before it has been through speech detection. */
  flush(): Promise<void> {
    this.assertOpen();
    return this.afterDetection(() => this.core.flush());
  }

  /** Resolves once the segments that have closed so far have had their finals emitted (or dropped as empty). */
  finalsSettled(): Promise<void> {
    return Promise.all([...this.finals.values()].map((final) => final.settled)).then(() => undefined);
  }

  /**
   * Finalizes everything received, including speech too short to have opened a turn, and resolves once the last
   * final has been emitted. Later audio and commands are refused.
   */
  end(): Promise<void> {
    if (this.ending) return this.ending;
    this.assertOpen();
    this.detect(this.detector.flush());
    this.ending = this.afterDetection(() => this.core.end()).then(() => this.allFinals());
    return this.ending;
  }

  /** Drops queued work and frees the detector; results still running are ignored. Safe to call more than once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.scheduler.cancel(this);
    this.detector.close();
  }

  /**
   * Drops the audio received so far that no segment has closed over, once speech detection has seen it: the open
   * segment gets no transcription; its turn ends there (with an empty final if it sent anything). Segments that
   * closed before are not touched, and detection goes on with the audio that follows.
   */
  discard(): Promise<void> {
    this.assertOpen();
    return this.afterDetection(() => this.core.discard());
  }

  private effects(): CoreEffects {
    return {
      partial: () => this.runPartial(),
      abortPartial: () => this.scheduler.abortPartial(this),
      final: (request) => this.runFinal(request),
      withdraw: (request) => this.finals.get(request)?.withdraw.abort(),
      transcript: (event) => {
        this.cadenceFrom = this.now();
        const shift = samplesToMs(this.origin);
        this.emit('transcript', {
          ...event,
          startMs: event.startMs + shift,
          endMs: event.endMs + shift,
          words: shift === 0 ? event.words : shiftWords(event.words, shift),
        });
      },
      speech: (event) => {
        if (event.type === 'started') this.cadenceFrom = this.now();
        this.emit('speech', { ...event, ms: event.ms + samplesToMs(this.origin) });
      },
    };
  }

  /**
   * The partial deadline: a cadence after the stream last showed something, wider as the load controller widens
   * partials.
   */
  private partialDeadline(): number {
    return this.cadenceFrom + (PARTIAL_CADENCE_MS * this.partialIntervalMs()) / this.settings.partialIntervalMs;
  }

  private runPartial(): void {
    let plan: PartialPlan | null = null;
    this.scheduler
      .partial(
        this,
        () => {
          if (this.closed) return null;
          plan = this.core.planPartial();
          if (!plan) return null;
          const samples = plan.toSample - plan.fromSample;
          return {
            kind: 'partial',
            pcm: this.copy(plan.fromSample, plan.toSample),
            options: decodeOptions('partial', plan.language, samples, plan.prompt, this.settings),
          };
        },
        this.partialDeadline(),
      )
      .then(
        (result) => this.partialDone(plan, result),
        (error: unknown) => {
          this.fail(error);
          this.partialDone(null, null);
        },
      );
  }

  private partialDone(plan: PartialPlan | null, result: JobResult): void {
    if (plan && result) {
      this.emit('partialWork', {
        turnMs: samplesToMs(plan.toSample - plan.turnStart),
        windowMs: samplesToMs(plan.toSample - plan.fromSample),
        workerMs: result.timings.totalMs,
      });
    }
    if (!this.closed) this.core.partialDone(plan, result);
  }

  private runFinal(request: FinalRequest): void {
    const withdraw = new AbortController();
    // Copied now: the ring may have moved past the segment by the time the final runs.
    const pcm = this.copy(request.from, request.to);
    const deadline = (this.arrivals.arrivalOf(this.origin + request.to) ?? this.now()) + FINAL_DEADLINE_MS;
    const result =
      pcm.length === 0
        ? Promise.resolve(null)
        : this.scheduler.final(
            this,
            () => {
              const { prompt, language } = this.core.finalTask(request);
              return {
                kind: 'final',
                pcm,
                options: decodeOptions('final', language, pcm.length, prompt, this.settings),
              };
            },
            { deadline, signal: withdraw.signal },
          );
    const settled = result.then(
      (outcome) => {
        if (!this.closed && !withdraw.signal.aborted) this.core.finalDone(request, outcome);
      },
      (error: unknown) => {
        if (this.closed || withdraw.signal.aborted) return;
        this.fail(error);
        this.core.finalDone(request, null);
      },
    );
    this.finals.set(request, { withdraw, settled });
    void settled.finally(() => this.finals.delete(request));
  }

  private async allFinals(): Promise<void> {
    while (this.finals.size > 0) await this.finalsSettled();
  }

  private assertOpen(): void {
    if (this.closed || this.ending)
      throw new SessionError('session_ended', 'the session has ended; open a new connection');
  }

  /**
   * Samples [from, to) from the ring. Only when detection lagged by more than DETECTION_SLACK_MS has the start been
   * overwritten; the oldest audio held is then the best there is.
   */
  private copy(from: number, to: number): Int16Array {
    return this.ring.copy(Math.min(to, Math.max(from, this.ring.oldest)), to);
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
          if (!this.closed) this.core.probabilities(probs);
        },
        (error: unknown) => this.fail(error),
      );
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    const message = error instanceof Error ? error.message : String(error);
    const code =
      error instanceof Error && typeof Reflect.get(error, 'code') === 'string'
        ? ` (${String(Reflect.get(error, 'code'))})`
        : '';
    this.emit('failure', new SessionError('transcription_failed', `transcription failed${code}: ${message}`));
  }
}
