/**
 * The session core as a synchronous state machine: events in (speech probabilities, audio arriving, transcription
 * results, commands), decisions out through CoreEffects (run this partial or final, withdraw that one, emit this
 * transcript or speech event). It holds no audio and no clock; StreamSession drives it.
 *
 * Speech turns and segments: a turn runs from the start of speech to the silence, flush, discard or end that closes
 * it; while it goes on, the segmenter cuts it into segments wherever the committed text allows (a sentence end, or
 * the segment limit), and the backstop cuts a segment that grew too long without one. Every segment gets one final,
 * a transcription of its own audio only; the final of the turn's last segment says it ends the turn.
 *
 * Message invariant: each segment's messages are zero or more partials followed by its final, and all of them come
 * before any message of the next segment. Once a turn has sent anything, every later segment of it gets its final,
 * even one whose text is filtered away (silence, non-speech, a failed transcription), as text '': the turn's finals
 * from there on tile its audio, and its end is always sent. A segment final with nothing to say before that (no
 * partial of it, nothing sent of its turn) is not sent.
 */
import { CommittedWindow } from './committed-window.js';
import { PARTIAL_KEEPALIVE_MS, PartialPolicy } from './partial-policy.js';
import { segmentCut } from './segmenter.js';
import { speechText, speechTokens, stripPunctuation } from './text-filters.js';
import { UtteranceDetector, type UtteranceEvent } from './utterance-detector.js';
import {
  msToSamples,
  samplesToMs,
  type SessionCheckpoint,
  type SpeechEvent,
  type StreamSettings,
  type TokenProbability,
  type TranscriptEvent,
  type TranscriptionOutcome,
  type Word,
} from './types.js';
import { shiftWords, wordsOf } from './words.js';

/** Committed-window partials: see CommittedWindow and docs/PROTOCOL.md. */
export const PARTIAL_OVERLAP_MS = 200;
export const PARTIAL_MAX_TAIL_MS = 1500;
/** What a forced commit leaves of the tail: its newest 0.7 s, which the next partials may still revise. */
export const PARTIAL_FORCED_KEEP_MS = 700;
/** Shortest segment a sentence end cuts off while speech goes on. */
export const MIN_SEGMENT_MS = 1500;
/** The naive strategy's window: whisper.cpp's `stream` example re-reads its last 10 s (`--length 10000`). */
const NAIVE_WINDOW_MS = 10_000;
const PARTIAL_PROMPT_CHARS = 100;
/** Finals are prompted with the previous final (and the client's hint): as much as Whisper reads, about 1 KB. */
const FINAL_PROMPT_CHARS = 1000;
/** Audio positions of segment bounds are whole milliseconds, so a final's start_ms/end_ms name its samples exactly. */
const SAMPLES_PER_MS = 16;

const wholeMs = (sample: number): number => sample - (sample % SAMPLES_PER_MS);

interface Turn {
  readonly id: number;
  /** Where its speech began (or, restored, where this session took it over). */
  readonly start: number;
  /** A transcript of the turn was emitted: its end must be sent too. */
  emitted: boolean;
}

/** A piece of a turn with a final of its own; the open segment is the turn's newest. */
export interface Segment {
  readonly id: number;
  readonly turn: Turn;
  readonly start: number;
  /** Set when the segment closes. */
  end: number | null;
  /** Closing it closed its turn. */
  endOfSpeech: boolean;
  /** What the engine is asked for: a code, or `auto` until the session has detected one. */
  readonly language: string;
  shownText: string;
  shownWords: number;
  /** Where the newest partial shown ended (the segment's start before any). */
  shownTo: number;
  /** Language of the newest partial, for the final when its transcription fails. */
  shownLanguage: string;
  /** A final started at a pause, before the segment closed (see the `pause` event). */
  early: FinalRequest | null;
  /** The final whose result is the segment's, once it closed. */
  final: FinalRequest | null;
}

/** A final to run: samples [from, to) of `segment`. */
export interface FinalRequest {
  readonly segment: Segment;
  readonly from: number;
  readonly to: number;
  /** Its transcription came back (outcome null: it failed, or there was nothing to transcribe). */
  result: { outcome: TranscriptionOutcome | null } | null;
}

/** A partial to run: samples [fromSample, toSample) of the open segment, with its prompt and language. */
export interface PartialPlan {
  readonly segment: Segment | null;
  /** Where the speech turn began (the naive strategy's window may hold none). */
  readonly turnStart: number;
  readonly fromSample: number;
  readonly toSample: number;
  readonly prompt: string;
  readonly language: string;
}

/** What the core asks its driver to do. */
export interface CoreEffects {
  /** Queue a partial of the open segment; the driver asks planPartial() for it when it runs. */
  partial(): void;
  /** The running partial's segment ended: stop it. */
  abortPartial(): void;
  /** Run a final; its result goes to finalDone(). */
  final(request: FinalRequest): void;
  /** Drop an early final whose segment did not end where it did. */
  withdraw(request: FinalRequest): void;
  transcript(event: TranscriptEvent): void;
  speech(event: SpeechEvent): void;
}

export interface SessionCoreOptions {
  settings: StreamSettings;
  windowSamples: number;
  /** The current audio time between partials (the load controller widens it under load). */
  partialIntervalMs: () => number;
  /** Language of every turn until the client asks for another (already checked). */
  language: string;
  effects: CoreEffects;
  restore?: { checkpoint: SessionCheckpoint; nextSeq: number };
}

export class SessionCore {
  private readonly settings: StreamSettings;
  private readonly effects: CoreEffects;
  private readonly boundaries: UtteranceDetector;
  private readonly policy: PartialPolicy;
  private readonly partialIntervalMs: () => number;
  /** Samples received (from the session's origin). */
  private written = 0;
  private requestedLanguage: string;
  /** The language `auto` settled on with the first final that had text. */
  private detectedLanguage: string | null = null;
  private hint = '';
  private previousFinal = '';
  private endSilenceMs: number | null;
  private turn: { record: Turn; segment: Segment; window: CommittedWindow } | null = null;
  /** Closed segments whose finals are not emitted yet, oldest first. */
  private readonly pending: Segment[] = [];
  /** The newest partial of the open segment, waiting for the finals before it. */
  private held: { segment: Segment; text: string; language: string; words: Word[]; toSample: number } | null = null;
  private partialPending = false;
  /** Newest sample the latest partial covered: the partial clock runs on audio time from here. */
  private coveredTo = 0;
  private nextSegmentId = 0;
  private nextTurnId = 0;
  /** After a restore into the middle of a turn that already sent transcripts: the id of the turn it continues. */
  private continuedTurn: number | null = null;
  private seq = 0;
  private ended = false;

  constructor(options: SessionCoreOptions) {
    this.settings = options.settings;
    this.effects = options.effects;
    this.requestedLanguage = options.language;
    this.endSilenceMs = this.settings.endSilenceMs;
    this.partialIntervalMs = options.partialIntervalMs;
    this.policy = new PartialPolicy(options.partialIntervalMs);
    this.boundaries = new UtteranceDetector({
      windowSamples: options.windowSamples,
      endSilenceMs: this.settings.endSilenceMs,
      maxUtteranceMs: this.settings.maxUtteranceMs,
    });
    const restore = options.restore;
    if (restore) {
      const { checkpoint } = restore;
      this.seq = restore.nextSeq;
      this.nextSegmentId = checkpoint.nextSegmentId;
      this.nextTurnId = checkpoint.turnId;
      if (checkpoint.turnSent) this.continuedTurn = checkpoint.turnId;
      this.previousFinal = checkpoint.previousFinal;
      this.requestedLanguage = checkpoint.requestedLanguage;
      this.detectedLanguage = checkpoint.detectedLanguage;
      this.hint = checkpoint.hint;
      this.endSilenceMs = checkpoint.endSilenceMs;
      this.boundaries.setEndSilence(checkpoint.endSilenceMs);
    }
  }

  /** The language the next turn will be transcribed in (`auto` until detection settles it). */
  get language(): string {
    return this.detectedLanguage ?? this.requestedLanguage;
  }

  get nextSeqNumber(): number {
    return this.seq;
  }

  /** Samples of closed segments whose finals are not out yet. */
  get pendingFinalSamples(): number {
    return this.pending.reduce((sum, segment) => sum + ((segment.end ?? segment.start) - segment.start), 0);
  }

  setLanguage(code: string): void {
    this.requestedLanguage = code;
    this.detectedLanguage = null;
  }

  setPrompt(hint: string): void {
    this.hint = hint;
  }

  setEndpointing(silenceMs: number | null): void {
    this.boundaries.setEndSilence(silenceMs);
    this.endSilenceMs = silenceMs;
  }

  /**
   * Where the session could be restored from now: the start of the oldest segment whose final is not out, or, when
   * none is open, of speech that may be starting in audio not yet through detection. `origin`: the absolute position
   * of the session's first sample.
   */
  checkpoint(origin: number): SessionCheckpoint {
    let from = this.turn ? this.turn.segment.start : this.boundaries.openFrom;
    let segmentId = this.turn?.segment.id ?? this.nextSegmentId;
    let turn: { id: number; emitted: boolean } | null =
      this.turn?.record ?? (this.continuedTurn === null ? null : { id: this.continuedTurn, emitted: true });
    for (const segment of this.pending) {
      from = Math.min(from, segment.start);
      segmentId = Math.min(segmentId, segment.id);
      if (!turn || segment.turn.id < turn.id) turn = segment.turn;
    }
    return {
      audioSample: origin + wholeMs(Math.min(from, this.written)),
      nextSegmentId: segmentId,
      turnId: turn?.id ?? this.nextTurnId,
      turnSent: turn?.emitted ?? false,
      previousFinal: this.previousFinal,
      requestedLanguage: this.requestedLanguage,
      detectedLanguage: this.detectedLanguage,
      hint: this.hint,
      endSilenceMs: this.endSilenceMs,
    };
  }

  /** Audio arrived: `written` samples in all. */
  audio(written: number): void {
    this.written = written;
    this.maybePartial();
  }

  /** Speech probabilities of the next windows, in order. */
  probabilities(probs: Float32Array): void {
    for (let i = 0; i < probs.length; i++) {
      const event = this.boundaries.process(probs[i] as number);
      if (event) this.boundary(event);
    }
    this.maybePartial();
  }

  /** Closes the open turn at the newest audio (or opens and closes one for speech too short to have opened it). */
  flush(): void {
    for (const event of this.boundaries.flush(wholeMs(this.written))) this.boundary(event);
  }

  /** flush(), and no more partials from now on: the session is ending. */
  end(): void {
    this.ended = true;
    this.flush();
  }

  /**
   * Drops the audio of the open segment: it gets no transcription; its turn ends there, with an empty final if the
   * turn sent anything. Segments that closed before are not touched.
   */
  discard(): void {
    this.boundaries.flush(wholeMs(this.written));
    const turn = this.turn;
    if (!turn) return;
    const segment = turn.segment;
    this.turn = null;
    this.effects.abortPartial();
    if (segment.early) this.effects.withdraw(segment.early);
    segment.early = null;
    segment.end = segment.start;
    segment.endOfSpeech = true;
    segment.final = { segment, from: segment.start, to: segment.start, result: { outcome: null } };
    this.pending.push(segment);
    this.emitSettled();
  }

  /**
   * The partial to run now, or null when there is nothing to do (the segment it was for ended). Called when the
   * scheduler starts the job, so it covers the newest audio.
   */
  planPartial(): PartialPlan | null {
    if (this.settings.strategy === 'naive') {
      const to = this.written;
      const from = Math.max(0, to - msToSamples(NAIVE_WINDOW_MS));
      this.coveredTo = to;
      const segment = this.turn?.segment ?? null;
      return {
        segment,
        turnStart: this.turn?.record.start ?? from,
        fromSample: from,
        toSample: to,
        prompt: this.hint,
        language: this.engineLanguage(segment?.language ?? this.language),
      };
    }
    const turn = this.turn;
    if (!turn) return null;
    const plan = turn.window.plan(this.written);
    this.coveredTo = plan.toSample;
    return {
      segment: turn.segment,
      turnStart: turn.record.start,
      fromSample: plan.fromSample,
      toSample: plan.toSample,
      prompt: this.withHint(plan.prompt, PARTIAL_PROMPT_CHARS),
      language: this.engineLanguage(turn.segment.language),
    };
  }

  /** A partial ended: its outcome, or null when it did not run to the end. */
  partialDone(plan: PartialPlan | null, outcome: TranscriptionOutcome | null): void {
    this.partialPending = false;
    if (plan && outcome) this.partialResult(plan, outcome);
    this.maybePartial();
  }

  /** The final's prompt and language, read when it starts, after the finals before it. */
  finalTask(request: FinalRequest): { prompt: string; language: string } {
    return {
      prompt: this.withHint(this.previousFinal, FINAL_PROMPT_CHARS),
      language: this.engineLanguage(request.segment.language),
    };
  }

  /**
   * A final's result: its outcome, or null when it failed. An early final's waits until its segment closes where it
   * ended (or is dropped, if it closes elsewhere).
   */
  finalDone(request: FinalRequest, outcome: TranscriptionOutcome | null): void {
    request.result = { outcome };
    if (request.segment.final !== request) return;
    this.emitSettled();
    this.maybePartial();
  }

  private boundary(event: UtteranceEvent): void {
    switch (event.type) {
      case 'start':
        this.openTurn(event.startSample);
        return;
      case 'pause': {
        const segment = this.turn?.segment;
        if (!segment || !this.settings.earlyFinals || segment.early) return;
        segment.early = {
          segment,
          from: segment.start,
          to: wholeMs(Math.min(event.endSample, this.written)),
          result: null,
        };
        this.effects.final(segment.early);
        return;
      }
      case 'resume': {
        const segment = this.turn?.segment;
        if (!segment?.early) return;
        this.effects.withdraw(segment.early);
        segment.early = null;
        return;
      }
      case 'end': {
        const turn = this.turn;
        if (!turn) return;
        this.turn = null;
        this.close(turn.segment, event.endSample, true);
        this.effects.speech({
          type: 'stopped',
          turnId: turn.record.id,
          segmentId: turn.segment.id,
          ms: samplesToMs(turn.segment.end ?? turn.segment.start),
        });
        this.emitSettled();
        return;
      }
      case 'cut': {
        const turn = this.turn;
        if (!turn) return;
        this.cutSegment(turn, event.cutSample);
        turn.window.restart(turn.segment.start);
        this.emitSettled();
        return;
      }
    }
  }

  private openTurn(startSample: number): void {
    const start = Math.min(startSample, this.written);
    const continued = this.continuedTurn;
    const record: Turn =
      continued === null ? { id: this.nextTurnId++, start, emitted: false } : { id: continued, start, emitted: true };
    if (continued !== null) this.nextTurnId = continued + 1;
    this.continuedTurn = null;
    const segment = this.newSegment(record, start, this.language);
    this.turn = {
      record,
      segment,
      window: new CommittedWindow(start, {
        overlapMs: PARTIAL_OVERLAP_MS,
        maxTailMs: PARTIAL_MAX_TAIL_MS,
        keepMs: PARTIAL_FORCED_KEEP_MS,
      }),
    };
    this.coveredTo = start;
    this.policy.reset();
    this.effects.speech({ type: 'started', turnId: record.id, segmentId: segment.id, ms: samplesToMs(start) });
  }

  private newSegment(turn: Turn, start: number, language: string): Segment {
    return {
      id: this.nextSegmentId++,
      turn,
      start,
      end: null,
      endOfSpeech: false,
      language,
      shownText: '',
      shownWords: 0,
      shownTo: start,
      shownLanguage: language,
      early: null,
      final: null,
    };
  }

  /** Closes the turn's open segment at `at` and opens the next one there; the turn goes on, in the same language. */
  private cutSegment(turn: { segment: Segment }, at: number): void {
    const segment = turn.segment;
    this.close(segment, at, false);
    turn.segment = this.newSegment(segment.turn, segment.end ?? at, segment.language);
    this.boundaries.restartSegment(turn.segment.start);
  }

  /** Closes the segment and asks for its final (or adopts the early one, if it ended there); emits nothing yet. */
  private close(segment: Segment, endSample: number, endOfSpeech: boolean): void {
    const end = Math.max(segment.start, wholeMs(Math.min(endSample, this.written)));
    segment.end = end;
    segment.endOfSpeech = endOfSpeech;
    this.effects.abortPartial();
    const early = segment.early;
    segment.early = null;
    this.pending.push(segment);
    if (early?.to === end) {
      segment.final = early;
      return;
    }
    if (early) this.effects.withdraw(early);
    segment.final = { segment, from: segment.start, to: end, result: null };
    this.effects.final(segment.final);
  }

  private partialResult(plan: PartialPlan, outcome: TranscriptionOutcome): void {
    const turn = this.turn;
    if (!turn || plan.segment !== turn.segment) return;
    const segment = turn.segment;
    const windowMs = samplesToMs(plan.toSample - plan.fromSample);
    if (this.settings.strategy === 'naive') {
      this.showPartial(segment, stripPunctuation(speechText(outcome)), outcome.language, [], plan.toSample);
      return;
    }

    const heard = shiftWords(wordsOf(speechText(outcome), outcome, windowMs), samplesToMs(plan.fromSample));
    turn.window.accept({ fromSample: plan.fromSample, toSample: plan.toSample, prompt: plan.prompt }, heard);
    // At the limit, all but the newest words are taken as they are, so the cut falls close to the audio.
    if (plan.toSample - segment.start >= msToSamples(this.settings.maxSegmentMs)) turn.window.force(plan.toSample);
    const cut = segmentCut(
      turn.window.stable,
      samplesToMs(segment.start),
      samplesToMs(turn.window.committedTo),
      samplesToMs(plan.toSample),
      {
        maxSegmentMs: this.settings.maxSegmentMs,
        minSegmentMs: Math.min(MIN_SEGMENT_MS, this.settings.maxSegmentMs),
      },
    );
    if (cut) {
      this.cutSegment(turn, msToSamples(cut.atMs));
      turn.window.cut(cut.words, turn.segment.start);
      this.emitSettled();
    }
    this.showPartial(turn.segment, turn.window.text, outcome.language, turn.window.shownStable, plan.toSample);
  }

  /**
   * Shows a partial that says something new; one that says the same is shown only once PARTIAL_KEEPALIVE_MS of audio
   * has passed since the last one, so a client sees that speech is heard and the stream keeps up.
   */
  private showPartial(segment: Segment, text: string, language: string, words: Word[], toSample: number): void {
    const changed = text !== '' && !(text === segment.shownText && words.length === segment.shownWords);
    this.policy.ran(changed);
    const due = text !== '' && toSample - segment.shownTo >= msToSamples(PARTIAL_KEEPALIVE_MS);
    if (!changed && !due) return;
    // A partial of a new segment must not overtake the final of the one before: it waits for it (see emitSettled).
    if (this.pending.length > 0) {
      this.held = { segment, text, language, words, toSample };
      return;
    }
    segment.shownText = text;
    segment.shownWords = words.length;
    segment.shownLanguage = language;
    segment.shownTo = toSample;
    this.emit(segment, text, false, language, toSample, words);
  }

  private maybePartial(): void {
    if (!this.settings.partials || this.ended || this.partialPending) return;
    if (this.settings.strategy === 'naive') {
      // The baseline re-reads its window every interval, speech or not.
      if (this.written - this.coveredTo < msToSamples(this.partialIntervalMs())) return;
    } else {
      const turn = this.turn;
      // Nothing new is being said during a pause; and while earlier finals are out, a newer partial would only
      // replace the one already waiting for them.
      if (!turn || !this.boundaries.speaking || turn.segment.early || (this.held && this.pending.length > 0)) return;
      if (!this.policy.due(samplesToMs(this.written - this.coveredTo))) return;
    }
    this.partialPending = true;
    this.effects.partial();
  }

  /** Emits the finals that are back, in segment order; then the partial that waited for them. */
  private emitSettled(): void {
    for (let head = this.pending[0]; head?.final?.result; head = this.pending[0]) {
      this.pending.shift();
      this.emitFinal(head, head.final.result.outcome);
    }
    if (this.pending.length > 0) return;
    const held = this.held;
    this.held = null;
    if (held && held.segment === this.turn?.segment)
      this.showPartial(held.segment, held.text, held.language, held.words, held.toSample);
  }

  private emitFinal(segment: Segment, outcome: TranscriptionOutcome | null): void {
    const text = outcome ? speechText(outcome) : '';
    const wanted = text !== '' || segment.shownText !== '' || segment.turn.emitted;
    if (!wanted) return;
    const language = outcome?.language ?? segment.shownLanguage;
    if (text) {
      this.previousFinal = text;
      if (this.requestedLanguage === 'auto' && !this.detectedLanguage && outcome)
        this.detectedLanguage = outcome.language;
    }
    const end = segment.end ?? segment.start;
    const words =
      outcome && text
        ? shiftWords(wordsOf(text, outcome, samplesToMs(end - segment.start)), samplesToMs(segment.start))
        : [];
    this.emit(segment, text, true, language, end, words, outcome && text ? speechTokens(outcome) : []);
  }

  private emit(
    segment: Segment,
    text: string,
    isFinal: boolean,
    language: string,
    endSample: number,
    words: Word[],
    tokens?: TokenProbability[],
  ): void {
    segment.turn.emitted = true;
    this.effects.transcript({
      text,
      isFinal,
      endOfSpeech: isFinal && segment.endOfSpeech,
      language,
      segmentId: segment.id,
      turnId: segment.turn.id,
      seq: this.seq++,
      startMs: samplesToMs(segment.start),
      endMs: samplesToMs(endSample),
      words,
      ...(tokens ? { tokens } : {}),
    });
  }

  /**
   * The client's hint, then as much of `context`'s end as fits in `limit` characters with it; a hint longer than the
   * limit is cut to its end, so a long hint costs a partial no more prompt than the limit allows.
   */
  private withHint(context: string, limit: number): string {
    if (!this.hint) return context.length > limit ? context.slice(context.length - limit) : context;
    const room = limit - this.hint.length - 1;
    if (room <= 0) return this.hint.slice(-limit);
    if (!context) return this.hint;
    return `${this.hint} ${context.length > room ? context.slice(context.length - room) : context}`;
  }

  /** The language to ask the engine for: the requested one, or the detected one once `auto` has settled. */
  private engineLanguage(requested: string): string {
    return requested === 'auto' ? (this.detectedLanguage ?? 'auto') : requested;
  }
}
