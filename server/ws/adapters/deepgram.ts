/** Deepgram's live transcription protocol (/v1/listen, protocol/deepgram.ts) as an adapter over the session core. */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { samplesToMs, type SpeechEvent, type TranscriptEvent } from '../../../engine/pipeline/index.js';
import {
  listenErrorMessage,
  metadataMessage,
  parseControl,
  parseListenQuery,
  resultsMessage,
  speechStartedMessage,
  utteranceEndMessage,
  type ListenOptions,
  type ResultsWord,
} from '../../../protocol/deepgram.js';
import type { ErrorCode } from '../../../protocol/errors.js';
import { BEARER_SUBPROTOCOL, subprotocolAfter } from '../../auth/credential.js';
import type { Command, IdleRule, ProtocolAdapter, SessionInfo, SessionOptions } from '../adapter.js';
import type { AdapterSettings } from '../routes.js';
import type { Frame } from '../ws-transport.js';
import { AudioInput } from './audio-input.js';
import { sessionOptions } from './session-options.js';
import { meanConfidence, plainText, rounded, seconds, shownWords, type ShownWord } from './transcript-words.js';
import type { Refusal, RefusalCode } from '../../../protocol/http-errors.js';

/** Turn starts kept for UtteranceEnd: more than the turns whose ends can be on their way at once. */
const MAX_PENDING_STARTS = 16;
/** Deepgram closes a stream that sent neither audio nor a text message for 10 s: 1011, NET-0001. */
const DEEPGRAM_IDLE: IdleRule = {
  ms: 10_000,
  code: 1011,
  reason: 'NET-0001: Deepgram did not receive audio data or a text message within the timeout window',
};

interface Finalize {
  /** A Results with from_finalize was sent for it. */
  answered: boolean;
}

export const DEEPGRAM_MISSING_CREDENTIAL =
  'missing credential: send Authorization: Token <key> (or Bearer <JWT>), or the subprotocols ["token", <key>]';

/** Deepgram's `err_code` for a handshake refused with each HTTP status. */
const REFUSAL_CODES: Record<number, string> = {
  400: 'Bad Request',
  401: 'INVALID_AUTH',
  403: 'INSUFFICIENT_PERMISSIONS',
  404: 'Not Found',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** A refused handshake's body as Deepgram writes it: `{err_code, err_msg, request_id}`. */
export function deepgramRefusal(
  status: number,
  body: Refusal<RefusalCode>,
): { err_code: string; err_msg: string; request_id: string } {
  return { err_code: REFUSAL_CODES[status] ?? 'Error', err_msg: body.message ?? body.error, request_id: randomUUID() };
}

/** Deepgram's credential forms: `Authorization: Token <key>` or `Bearer <token>`; in browsers, `['token', key]`. */
export function deepgramCredential(req: IncomingMessage): string | undefined {
  const header = /^(?:Token|Bearer)\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  return header ?? subprotocolAfter(req, 'token') ?? subprotocolAfter(req, BEARER_SUBPROTOCOL);
}

export class DeepgramAdapter implements ProtocolAdapter<Frame> {
  readonly protocol = 'deepgram';
  readonly startsAtConnect = true;
  readonly resumable = false;
  readonly idle = DEEPGRAM_IDLE;
  readonly connectOptions: SessionOptions;
  private readonly options: ListenOptions;
  private readonly input: AudioInput;
  /** Of the audio as the client sent it, for Metadata. */
  private readonly digest = createHash('sha256');
  private requestId = '';
  private created = '';
  private audioMs = 0;
  /** The audio before this is settled (see ProtocolAdapter.settled): a silence in it is one. */
  private settledMs = 0;
  /** Finalize messages whose flush has not ended its turn yet: turns ending meanwhile end because of them. */
  private readonly finalizing: Finalize[] = [];
  /** Turns a Finalize ended whose last finals are not out yet. */
  private readonly finalizedBy = new Map<number, Finalize>();
  /** The latest turn's end and the end of its last word, while its UtteranceEnd is due. */
  private due: { turnId: number; lastWordEndMs: number } | null = null;
  /** Where the turns whose ends are not out yet began (only with utterance_end_ms). */
  private readonly speechStarts = new Map<number, number>();
  /** The end of the current turn's last final word so far. */
  private lastWordEndMs: number | null = null;

  constructor(
    private readonly send: (message: string) => void,
    query: URLSearchParams,
    settings: AdapterSettings,
  ) {
    this.options = parseListenQuery(query);
    this.input = new AudioInput(this.options.audio);
    this.connectOptions = sessionOptions(this.options, settings.languages);
  }

  decode(frame: Frame): Command[] {
    if (frame.binary) {
      const commands = this.input.commands(frame.data);
      this.digest.update(frame.data);
      return commands;
    }
    const control = parseControl(frame.data.toString('utf8'));
    if (control === 'KeepAlive') return [{ type: 'keepalive' }];
    if (control === 'CloseStream') return [...this.input.end(), { type: 'end' }];
    const finalize: Finalize = { answered: false };
    this.finalizing.push(finalize);
    const flush: Command = {
      type: 'flush',
      done: () => this.finalizing.splice(this.finalizing.indexOf(finalize), 1),
      settled: () => this.answer(finalize),
    };
    // Any text message keeps a Deepgram stream from idling out, not only KeepAlive.
    return [{ type: 'keepalive' }, flush];
  }

  started(session: SessionInfo): void {
    this.requestId = session.id;
    this.created = new Date().toISOString();
  }

  /**
   * Every segment final is `is_final`; `speech_final` only on the one that ends a turn at the silence endpointing
   * found (not at a Finalize, which says `from_finalize` instead). Interim results cover the audio after the last
   * `is_final`.
   */
  transcript(event: TranscriptEvent): void {
    if (!event.isFinal && !this.options.interimResults) return;
    const finalize = event.endOfSpeech ? this.finalizedBy.get(event.turnId) : undefined;
    if (finalize) finalize.answered = true;
    const words = shownWords(event);
    this.send(
      resultsMessage({
        requestId: this.requestId,
        start: seconds(event.startMs),
        duration: seconds(event.endMs - event.startMs),
        isFinal: event.isFinal,
        speechFinal: event.endOfSpeech && finalize === undefined,
        fromFinalize: finalize !== undefined,
        transcript: this.options.punctuate ? event.text : plainText(event.text),
        confidence: meanConfidence(words),
        words: words.map((word) => this.wireWord(word)),
      }),
    );
    const last = words.at(-1);
    if (event.isFinal && last) this.lastWordEndMs = last.endMs;
    if (event.endOfSpeech) {
      for (const id of this.speechStarts.keys()) if (id <= event.turnId) this.speechStarts.delete(id);
      if (this.lastWordEndMs !== null) this.due = { turnId: event.turnId, lastWordEndMs: this.lastWordEndMs };
      this.lastWordEndMs = null;
      this.utteranceEnd();
    }
  }

  speech(event: SpeechEvent): void {
    if (event.type === 'stopped') {
      const finalize = this.finalizing[0];
      if (finalize) this.finalizedBy.set(event.turnId, finalize);
      return;
    }
    if (this.options.utteranceEndMs !== undefined) {
      this.speechStarts.set(event.turnId, event.ms);
      // Utterances whose finals never come (nothing was said) are forgotten past a few.
      const oldest = this.speechStarts.keys().next();
      if (this.speechStarts.size > MAX_PENDING_STARTS && !oldest.done) this.speechStarts.delete(oldest.value);
    }
    if (this.options.vadEvents) this.send(speechStartedMessage(seconds(event.ms)));
  }

  audio(samplesReceived: number): void {
    this.audioMs = samplesToMs(samplesReceived);
  }

  settled(sample: number): void {
    this.settledMs = Math.max(this.settledMs, samplesToMs(sample));
    this.utteranceEnd();
  }

  error(code: ErrorCode, message: string): void {
    this.send(listenErrorMessage(code, message));
  }

  stopped(): void {}

  closing(): void {
    this.send(
      metadataMessage(
        this.requestId,
        this.digest.copy().digest('hex'),
        this.created,
        seconds(this.audioMs),
        this.options.channels,
      ),
    );
  }

  /**
   * Every Finalize gets a Results with from_finalize: the final of an utterance it ended, or, when it ended none or
   * that final was dropped as empty (nothing was said), an empty one, so a client waiting for it is never left waiting.
   */
  private answer(finalize: Finalize): void {
    for (const [turnId, by] of this.finalizedBy) if (by === finalize) this.finalizedBy.delete(turnId);
    if (finalize.answered) return;
    const at = seconds(this.audioMs);
    this.send(
      resultsMessage({
        requestId: this.requestId,
        start: at,
        duration: 0,
        isFinal: true,
        speechFinal: false,
        fromFinalize: true,
        transcript: '',
        confidence: 0,
        words: [],
      }),
    );
  }

  private wireWord(word: ShownWord): ResultsWord {
    const wire: ResultsWord = {
      word: plainText(word.text),
      start: seconds(word.startMs),
      end: seconds(word.endMs),
      confidence: rounded(word.confidence),
    };
    if (this.options.punctuate) wire.punctuated_word = word.text;
    return wire;
  }

  /**
   * UtteranceEnd once `utterance_end_ms` of audio after the last word of a turn's finals is settled with no new speech
   * in it; the next turn starting within the gap cancels it. Settled audio, not audio received: speech detection runs
   * behind what arrived, so a turn starting in the gap may not be known yet when the gap has arrived. Audio time, not
   * the clock: the outcome does not depend on how late the final was.
   */
  private utteranceEnd(): void {
    const gap = this.options.utteranceEndMs;
    if (gap === undefined || !this.due) return;
    const { turnId, lastWordEndMs } = this.due;
    const next = this.speechStarts.get(turnId + 1);
    if (next !== undefined && next < lastWordEndMs + gap) this.due = null;
    else if (this.settledMs >= lastWordEndMs + gap) {
      this.due = null;
      this.send(utteranceEndMessage(seconds(lastWordEndMs)));
    }
  }
}
