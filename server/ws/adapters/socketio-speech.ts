/**
 * The /speech protocol as Socket.IO events (protocol/speech-socketio.ts): the sessions of /speech, started and stopped
 * with acknowledgements, and audio at any rate from 8 to 96 kHz, or a MediaRecorder's Opus in WebM or Ogg, converted
 * to 16 kHz here.
 */
import { Resampler } from '../../../engine/audio/resampler.js';
import { ContainerStream } from '../../../engine/codecs/container-stream.js';
import { AudioDecodeError } from '../../../engine/codecs/errors.js';
import type { SpeechEvent, TranscriptEvent } from '../../../engine/pipeline/index.js';
import { ProtocolError, excerpt, type ErrorCode } from '../../../protocol/errors.js';
import { speechTranscript, type SpeechEventName } from '../../../protocol/speech.js';
import {
  NATIVE_RATE,
  parseAudioChunk,
  parseStartPayload,
  speechAck,
  type AudioChunk,
  type SpeechClientEvent,
} from '../../../protocol/speech-socketio.js';
import { MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE } from '../../../protocol/params.js';
import type { Command, ProtocolAdapter, SessionInfo, SessionOptions } from '../adapter.js';
import type { SocketIoEvent, SocketIoMessage } from '../socketio-transport.js';
import { MAX_CONTAINER_MESSAGE_MS, split } from './audio-input.js';

const CLIENT_EVENTS: readonly SpeechClientEvent[] = ['start-transcription', 'audio-chunk', 'stop-transcription'];
const isClientEvent = (name: string): name is SpeechClientEvent => CLIENT_EVENTS.some((known) => known === name);

/**
 * s16le bytes as samples; a view where they are aligned, else a copy. The bytes are often a view into a larger network
 * buffer, and a Buffer's slice() is a view too: only a new Uint8Array copies them out, to a buffer of their own.
 */
const samples = (bytes: Uint8Array): Int16Array =>
  bytes.byteOffset % 2 === 0
    ? new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2)
    : new Int16Array(new Uint8Array(bytes).buffer);

export class SocketIoSpeechAdapter implements ProtocolAdapter<SocketIoEvent> {
  readonly protocol = 'socket.io';
  readonly startsAtConnect = false;
  readonly resumable = false;
  readonly connectOptions: SessionOptions = {};
  /** Keeps its phase across chunks; replaced when the client changes rate. */
  private resampler: Resampler | null = null;
  /** The recording sent as container pieces, for the session in progress. */
  private container: ContainerStream | null = null;

  constructor(private readonly send: (message: SocketIoMessage) => void) {}

  /** Every acknowledgement gets an answer: a refused event's carries the error too. */
  decode(event: SocketIoEvent): Command[] {
    try {
      return this.commands(event);
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

  private commands({ name, args, ack }: SocketIoEvent): Command[] {
    if (!isClientEvent(name)) {
      throw new ProtocolError(
        'unknown_type',
        `unknown event ${excerpt(name)}; the events are ${CLIENT_EVENTS.join(', ')}`,
      );
    }
    const answer = (outcome: Parameters<typeof speechAck>[0]): void => ack?.(speechAck(outcome));
    switch (name) {
      case 'audio-chunk':
        return this.audioCommands(parseAudioChunk(args[0]));
      case 'start-transcription':
        return [{ type: 'start', options: parseStartPayload(args[0]), done: answer }];
      case 'stop-transcription':
        return [...this.endOfAudio(), { type: 'stop', done: answer }];
    }
  }

  /**
   * A stop ends the session's audio: what the resampler held back for its filter's look-ahead goes in before it, and
   * the next session's recording starts afresh.
   */
  private endOfAudio(): Command[] {
    const tail = this.resampler?.flush() ?? new Int16Array(0);
    this.resampler = null;
    this.container = null;
    return split(new Uint8Array(tail.buffer, tail.byteOffset, tail.byteLength));
  }

  private audioCommands(chunk: AudioChunk): Command[] {
    if (chunk.kind === 'pcm') return [{ type: 'audio', pcm: this.pcm(chunk.bytes, chunk.sampleRate) }];
    const bounds = { minRate: MIN_SAMPLE_RATE, maxRate: MAX_SAMPLE_RATE, maxChannels: MAX_CHANNELS };
    this.container ??= new ContainerStream(MAX_CONTAINER_MESSAGE_MS, bounds, [chunk.format]);
    try {
      const pcm = this.container.push(chunk.bytes);
      return split(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength));
    } catch (error) {
      if (!(error instanceof AudioDecodeError)) throw error;
      throw new ProtocolError(error.code === 'frame_too_large' ? 'frame_too_large' : 'bad_audio', error.message);
    }
  }

  private pcm(bytes: Uint8Array, sampleRate: number): Uint8Array {
    if (sampleRate === NATIVE_RATE) return bytes;
    if (this.resampler?.inputRate !== sampleRate) this.resampler = new Resampler(sampleRate);
    const converted = this.resampler.process(samples(bytes));
    return new Uint8Array(converted.buffer, converted.byteOffset, converted.byteLength);
  }

  private emit(name: SpeechEventName, payload: object): void {
    this.send({ name, payload });
  }
}
