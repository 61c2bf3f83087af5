/** The /speech protocol over a plain WebSocket (protocol/speech.ts): explicit start and stop, events named by kind. */
import type { SpeechEvent, TranscriptEvent } from '../../../engine/pipeline/index.js';
import type { ErrorCode } from '../../../protocol/errors.js';
import { parseSpeechCommand, speechErrorEvent, speechEvent, speechTranscriptEvent } from '../../../protocol/speech.js';
import type { Command, ProtocolAdapter, SessionInfo, SessionOptions } from '../adapter.js';
import type { Frame } from '../ws-transport.js';

export class SpeechAdapter implements ProtocolAdapter<Frame> {
  readonly protocol = 'speech';
  readonly startsAtConnect = false;
  readonly resumable = false;
  readonly connectOptions: SessionOptions = {};

  constructor(private readonly send: (message: string) => void) {}

  decode(frame: Frame): Command[] {
    if (frame.binary) return [{ type: 'audio', pcm: frame.data }];
    const command = parseSpeechCommand(frame.data.toString('utf8'));
    if (command.type === 'stop') return [{ type: 'stop' }];
    const options: SessionOptions = {};
    if (command.language !== undefined) options.language = command.language;
    if (command.prompt !== undefined) options.prompt = command.prompt;
    return [{ type: 'start', options }];
  }

  started(session: SessionInfo): void {
    this.send(speechEvent('started', session.id));
  }

  transcript(event: TranscriptEvent): void {
    this.send(speechTranscriptEvent(event));
  }

  speech(_event: SpeechEvent): void {}

  audio(): void {}

  error(code: ErrorCode, message: string): void {
    this.send(speechErrorEvent(code, message));
  }

  stopped(sessionId: string): void {
    this.send(speechEvent('stopped', sessionId));
  }

  closing(): void {}
}
