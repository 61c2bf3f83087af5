/**
 * AssemblyAI's Universal-Streaming v3 protocol (/v3/ws, protocol/assemblyai.ts) as an adapter over the session core.
 */
import type { IncomingMessage } from 'node:http';
import {
  samplesToMs,
  type LanguagePolicy,
  type SpeechEvent,
  type TranscriptEvent,
} from '../../../engine/pipeline/index.js';
import {
  AUTH_FAILED_CODE,
  beginMessage,
  parseStreamingMessage,
  parseStreamingQuery,
  streamingErrorMessage,
  terminationMessage,
  turnConfidence,
  turnMessage,
  turnSilence,
  unauthorizedMessage,
  type TurnParams,
  type TurnWord,
} from '../../../protocol/assemblyai.js';
import type { ErrorCode } from '../../../protocol/errors.js';
import { CloseCode } from '../close-codes.js';
import type { Command, IdleRule, ProtocolAdapter, SessionInfo, SessionOptions } from '../adapter.js';
import type { AdapterSettings } from '../routes.js';
import type { Frame } from '../ws-transport.js';
import { AudioInput } from './audio-input.js';
import { sessionOptions } from './session-options.js';
import { plainText, rounded, seconds, shownWords, type ShownWord } from './transcript-words.js';

export const ASSEMBLYAI_MISSING_CREDENTIAL = 'missing credential: send Authorization: <key>, or ?token=<key or JWT>';

/**
 * A refused credential: the socket opens, gets an Error and closes with 4001 "Not Authorized". AssemblyAI's SDK
 * retries a failed handshake (a 401) twice more, but never a 4001, its code for a refused key.
 */
export const ASSEMBLYAI_UNAUTHORIZED = {
  code: AUTH_FAILED_CODE,
  reason: 'Not Authorized',
  message: unauthorizedMessage,
};

/** AssemblyAI's credential forms: the bare key in `Authorization` (a `Bearer ` before it is allowed), or `?token=`. */
export function assemblyAiCredential(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const header = req.headers.authorization?.replace(/^Bearer\s+/i, '').trim();
  return header || (query.get('token') ?? undefined);
}

export class AssemblyAiAdapter implements ProtocolAdapter<Frame> {
  readonly protocol = 'assemblyai';
  readonly startsAtConnect = true;
  readonly resumable = false;
  readonly connectOptions: SessionOptions;
  /** With `inactivity_timeout`: the session ends as a Terminate would end it (Termination, then 1000). */
  readonly idle?: IdleRule;
  private formatTurns: boolean;
  /** The turn detection parameters named so far, and the silence that ends a turn with them. */
  private turn: TurnParams;
  private endSilenceMs: number;
  private turnOrder = 0;
  private readonly input: AudioInput;
  private readonly languages: LanguagePolicy;
  private readonly maxSessionMs: number;
  private startedAt = Date.now();
  private audioMs = 0;
  /** The current turn's words that segment finals made final, as written; and those finals' text. */
  private finalWords: ShownWord[] = [];
  private formattedText: string[] = [];

  constructor(
    private readonly send: (message: string) => void,
    query: URLSearchParams,
    settings: AdapterSettings,
  ) {
    const options = parseStreamingQuery(query);
    this.input = new AudioInput(options.audio);
    this.languages = settings.languages;
    this.maxSessionMs = settings.maxSessionMs;
    this.formatTurns = options.formatTurns;
    this.turn = options.turn;
    const asked = { prompt: options.prompt, endpointingMs: turnSilence(this.turn) };
    this.connectOptions = sessionOptions(asked, this.languages);
    this.endSilenceMs = this.connectOptions.endpointingMs ?? settings.endSilenceMs;
    if (options.inactivityS !== undefined) {
      const reason = `inactivity timeout: no audio for ${options.inactivityS} s`;
      this.idle = { ms: options.inactivityS * 1000, code: CloseCode.normal, reason };
    }
  }

  decode(frame: Frame): Command[] {
    if (frame.binary) return this.input.commands(frame.data);
    const command = parseStreamingMessage(frame.data.toString('utf8'));
    switch (command.type) {
      case 'ForceEndpoint':
        return [{ type: 'flush' }];
      case 'KeepAlive':
        return [{ type: 'keepalive' }];
      case 'Terminate':
        return [...this.input.end(), { type: 'end' }];
      case 'UpdateConfiguration': {
        const { formatTurns, turn: named, prompt } = command.update;
        if (formatTurns !== undefined) this.formatTurns = formatTurns;
        const turn = { ...this.turn, ...named };
        const endpointingMs = Object.keys(named).length > 0 ? turnSilence(turn) : undefined;
        const options = sessionOptions({ prompt, endpointingMs }, this.languages);
        const done = (): void => {
          this.turn = turn;
          const silence = options.endpointingMs;
          if (silence !== undefined && silence !== null) this.endSilenceMs = silence;
        };
        if (Object.keys(options).length === 0) {
          done();
          return [];
        }
        return [{ type: 'configure', options, done }];
      }
    }
  }

  started(session: SessionInfo): void {
    this.startedAt = Date.now();
    this.send(beginMessage(session.id, Math.floor((this.startedAt + this.maxSessionMs) / 1000)));
  }

  /**
   * A turn's words are final once a segment final of it has them: they appear unchanged (unformatted) in the
   * end-of-turn Turn. A partial's words follow them with `word_is_final` false; `transcript` holds the final words
   * only.
   */
  transcript(event: TranscriptEvent): void {
    const shown = shownWords(event);
    // Silence heard after the last word so far: none while words run up to the newest audio, as a partial's do.
    const last = shown.at(-1);
    const confidence = turnConfidence(last ? event.endMs - last.endMs : 0, this.turn);
    if (!event.isFinal) {
      const words = [...this.finalWords, ...shown.map((word) => ({ ...word, stable: false }))];
      this.sendTurn(false, false, words, confidence);
      return;
    }
    this.finalWords.push(...shown);
    this.formattedText.push(event.text);
    if (!event.endOfSpeech) {
      this.sendTurn(false, false, this.finalWords, confidence);
      return;
    }
    // AssemblyAI ends a turn with its unformatted Turn, then, with format_turns, the same turn formatted. The silence
    // that ended it is the end-of-turn silence.
    const ended = turnConfidence(this.endSilenceMs, this.turn);
    this.sendTurn(true, false, this.finalWords, ended);
    if (this.formatTurns) this.sendTurn(true, true, this.finalWords, ended);
    this.finalWords = [];
    this.formattedText = [];
    this.turnOrder++;
  }

  /** Speech events are not part of Universal-Streaming's default messages. */
  speech(_event: SpeechEvent): void {}

  audio(samplesReceived: number): void {
    this.audioMs = samplesToMs(samplesReceived);
  }

  error(code: ErrorCode, message: string): void {
    this.send(streamingErrorMessage(code, message));
  }

  stopped(): void {}

  closing(): void {
    this.send(terminationMessage(seconds(this.audioMs), seconds(Date.now() - this.startedAt)));
  }

  /**
   * A Turn of `words` (those a final gave are `stable`): unformatted (lower case, no punctuation) unless `formatted`,
   * which only an end-of-turn Turn is, with the finals' text as written.
   */
  private sendTurn(endOfTurn: boolean, formatted: boolean, words: ShownWord[], confidence: number): void {
    const wire: TurnWord[] = words.map((word) => ({
      start: word.startMs,
      end: word.endMs,
      text: formatted ? word.text : plainText(word.text),
      confidence: rounded(word.confidence),
      word_is_final: word.stable,
    }));
    const transcript = formatted
      ? this.formattedText.filter((text) => text !== '').join(' ')
      : wire
          .filter((word) => word.word_is_final)
          .map((word) => word.text)
          .join(' ');
    this.send(
      turnMessage({
        turn_order: this.turnOrder,
        turn_is_formatted: formatted,
        end_of_turn: endOfTurn,
        transcript,
        end_of_turn_confidence: rounded(confidence),
        words: wire,
        utterance: endOfTurn ? transcript : '',
      }),
    );
  }
}
