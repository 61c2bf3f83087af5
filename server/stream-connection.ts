import type { RawData, WebSocket } from 'ws';
import { SessionError, samplesToMs, type StreamSession } from '../engine/streaming/index.js';
import type { Logger } from './log.js';
import { ProtocolError, checkAudioFrame, errorMessage, parseCommand, transcriptMessage, type ClientCommand } from './protocol.js';

export interface StreamConnectionOptions {
  maxFrameBytes: number;
  log: Logger;
}

/**
 * Binds one WebSocket to one session: parses what the client sends into session calls and serialises the
 * session's events back. Nothing a client sends can throw past this point; it gets an error message instead.
 */
export class StreamConnection {
  private ended = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly session: StreamSession,
    private readonly options: StreamConnectionOptions,
  ) {
    session.on('transcript', (event) => this.send(transcriptMessage(event)));
    session.on('failure', (error) => {
      options.log.warn('session failure', { code: error.code, error: error.message });
      this.send(errorMessage(error.code, error.message));
    });
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('close', (code) => {
      options.log.info('stream closed', { code, audioMs: samplesToMs(session.samplesReceived) });
      session.close();
    });
    ws.on('error', (error) => options.log.warn('socket error', { error }));
  }

  private receive(data: RawData, isBinary: boolean): void {
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    try {
      if (isBinary) {
        const problem = checkAudioFrame(bytes.byteLength, this.options.maxFrameBytes);
        if (problem) throw problem;
        this.session.pushAudio(bytes);
      } else {
        this.run(parseCommand(bytes.toString('utf8')));
      }
    } catch (error) {
      this.reportError(error);
    }
  }

  private run(command: ClientCommand): void {
    switch (command.type) {
      case 'config':
        this.session.setLanguage(command.language);
        return;
      case 'flush':
        this.session.flush();
        return;
      case 'end':
        this.end();
        return;
    }
  }

  private end(): void {
    if (this.ended) throw new SessionError('session_ended', 'the session is already ending');
    this.ended = true;
    this.session.end().then(
      () => this.ws.close(1000, 'end of stream'),
      (error: unknown) => {
        this.options.log.error('ending the session failed', { error });
        this.ws.close(1011, 'internal error');
      },
    );
  }

  private reportError(error: unknown): void {
    if (error instanceof ProtocolError || error instanceof SessionError) {
      this.send(errorMessage(error.code, error.message));
      return;
    }
    this.options.log.error('unexpected error handling a client message', { error });
    this.send(errorMessage('internal_error', 'the server could not handle that message'));
  }

  private send(message: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(message);
  }
}
