/** Why audio could not be taken: a format this server does not read, a stream or file that is corrupt, or too much. */

export type AudioErrorCode = 'unsupported_audio' | 'bad_audio' | 'audio_too_long' | 'empty_audio' | 'frame_too_large';

export class AudioDecodeError extends Error {
  constructor(
    readonly code: AudioErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AudioDecodeError';
  }
}
