/**
 * The /speech protocol as Socket.IO events (protocol/speech-socketio.ts): the sessions of /speech, started and stopped
 * with acknowledgements, and audio at any rate from 8 to 96 kHz converted to 16 kHz here.
 */
import { Resampler } from '../../../engine/audio/resampler.js';
import type { SpeechEvent, TranscriptEvent } from '../../../engine/pipeline/index.js';
import { ProtocolError, excerpt, type ErrorCode } from '../../../protocol/errors.js';
import { speechTranscript, type SpeechEventName } from '../../../protocol/speech.js';
import { NATIVE_RATE, parseAudioChunk, parseStartPayload, speechAck, type AudioChunk, type SpeechClientEvent } from '../../../protocol/speech-socketio.js';
import type { Command, ProtocolAdapter, SessionInfo, SessionOptions } from '../adapter.js';
import type { SocketIoEvent, SocketIoMessage } from '../socketio-transport.js';

const CLIENT_EVENTS: readonly SpeechClientEvent[] = ['start-transcription', 'audio-chunk', 'stop-transcription'];
const isClientEvent = (name: string): name is SpeechClientEvent => CLIENT_EVENTS.some((known) => known === name);

/**
 * s16le bytes as samples; a view where they are aligned, else a copy. The bytes are often a view into a larger network
 * buffer, and a Buffer's slice() is a view too: only a new Uint8Array copies them out, to a buffer of their own.
 */
const samples = (bytes: Uint8Array): Int16Array =>
  bytes.byteOffset % 2 === 0 ? new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2) : new Int16Array(new Uint8Array(bytes).buffer);

export class SocketIoSpeechAdapter implements ProtocolAdapter<SocketIoEvent> {
  readonly protocol = 'socket.io';
  readonly startsAtConnect = false;
  readonly resumable = false;
  readonly connectOptions: SessionOptions = {};
  /** Keeps its phase across chunks; replaced when the client changes rate. */
  private resampler: Resampler | null = null;

  constructor(private readonly send: (message: SocketIoMessage) => void) {}

  /** Every acknowledgement gets an answer: a refused event's carries the error too. */
  decode(event: SocketIoEvent): Command[] {
    try {
      return [this.command(event)];
    } catch (error) {
      if (error instanceof ProtocolError) event.ack?.(speechAck(error));
      throw error;
    }
  }

  started(session: SessionInfo): void {
    this.emit('transcription-started', { session_id: session.id });
  }

  transcript(event: TranscriptEvent): void {
    this.emit(event.isFinal ? 'transcription-final' : 'transcription-partial', speechTranscript(event));
  }

  speech(_event: SpeechEvent): void {}

  audio(): void {}

  error(code: ErrorCode, message: string): void {
    this.emit('transcription-error', { code, message });
  }

  stopped(sessionId: string): void {
    this.emit('transcription-stopped', { session_id: sessionId });
  }

  closing(): void {}

  private command({ name, args, ack }: SocketIoEvent): Command {
    if (!isClientEvent(name)) {
      throw new ProtocolError('unknown_type', `unknown event ${excerpt(name)}; the events are ${CLIENT_EVENTS.join(', ')}`);
    }
    const answer = (outcome: Parameters<typeof speechAck>[0]): void => ack?.(speechAck(outcome));
    switch (name) {
      case 'audio-chunk':
        return { type: 'audio', pcm: this.pcm(parseAudioChunk(args[0])) };
      case 'start-transcription':
        return { type: 'start', options: parseStartPayload(args[0]), done: answer };
      case 'stop-transcription':
        return { type: 'stop', done: answer };
    }
  }

  private pcm(chunk: AudioChunk): Uint8Array {
    if (chunk.sampleRate === NATIVE_RATE) return chunk.bytes;
    if (this.resampler?.inputRate !== chunk.sampleRate) this.resampler = new Resampler(chunk.sampleRate);
    const converted = this.resampler.process(samples(chunk.bytes));
    return new Uint8Array(converted.buffer, converted.byteOffset, converted.byteLength);
  }

  private emit(name: SpeechEventName, payload: object): void {
    this.send({ name, payload });
  }
}
