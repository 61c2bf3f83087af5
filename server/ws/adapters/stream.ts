/** The native /stream protocol (protocol/stream.ts) as an adapter: the only one with resume, acks and opt-in words. */
import type { SpeechEvent, TranscriptEvent } from '../../../engine/pipeline/index.js';
import type { ErrorCode } from '../../../protocol/errors.js';
import { ProtocolError } from '../../../protocol/errors.js';
import {
  ackMessage,
  errorMessage,
  parseCommand,
  receivedMs,
  resumedMessage,
  sessionMessage,
  transcriptMessage,
} from '../../../protocol/stream.js';
import type { Command, ProtocolAdapter, SessionInfo, SessionOptions } from '../adapter.js';
import type { Frame } from '../ws-transport.js';

export class StreamAdapter implements ProtocolAdapter<Frame> {
  readonly protocol = 'stream';
  readonly startsAtConnect = true;
  readonly resumable = true;
  readonly connectOptions: SessionOptions = {};
  private words = false;
  private nextAckMs = 0;

  constructor(
    private readonly send: (message: string) => void,
    private readonly ackIntervalMs: number,
  ) {}

  decode(frame: Frame): Command[] {
    if (frame.binary) return [{ type: 'audio', pcm: frame.data }];
    const command = parseCommand(frame.data.toString('utf8'));
    switch (command.type) {
      case 'config': {
        if (command.words !== undefined) this.words = command.words;
        const options: SessionOptions = {};
        if (command.language !== undefined) options.language = command.language;
        if (command.prompt !== undefined) options.prompt = command.prompt;
        return Object.keys(options).length > 0 ? [{ type: 'configure', options }] : [];
      }
      case 'resume': {
        const { sessionId, resumeToken, lastSeq } = command;
        return [{ type: 'resume', request: { sessionId, resumeToken, lastSeq } }];
      }
      case 'flush':
      case 'end':
        return [{ type: command.type }];
    }
  }

  started(session: SessionInfo): void {
    const audioMs = receivedMs(session.samplesReceived);
    this.nextAckMs = (Math.floor(audioMs / this.ackIntervalMs) + 1) * this.ackIntervalMs;
    if (session.resumed) this.send(resumedMessage(session.id, audioMs));
    else if (session.resumeToken === null)
      throw new ProtocolError('internal_error', 'a /stream session needs a resume token');
    else this.send(sessionMessage(session.id, session.resumeToken, session.resumeTtlMs));
  }

  transcript(event: TranscriptEvent): void {
    this.send(transcriptMessage(event, this.words));
  }

  /** /stream has no speech events: partials and finals say it all. */
  speech(_event: SpeechEvent): void {}

  audio(samplesReceived: number): void {
    const audioMs = receivedMs(samplesReceived);
    if (audioMs < this.nextAckMs) return;
    this.send(ackMessage(audioMs));
    this.nextAckMs = (Math.floor(audioMs / this.ackIntervalMs) + 1) * this.ackIntervalMs;
  }

  error(code: ErrorCode, message: string): void {
    this.send(errorMessage(code, message));
  }

  stopped(): void {}

  closing(): void {}
}
