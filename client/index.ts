// The client library's public surface (whisper-stream-server/client): runs in Node 20+ and in browsers.
export {
  StreamClient,
  type StreamClientOptions,
  type Transcript,
  type ServerError,
  type ClientEvents,
  type ClosedEvent,
  type ConnectFailure,
} from './stream-client.js';
export { HandshakeError, ConnectionError } from './errors.js';
export type { WebSocketLike, WebSocketFactory } from './socket.js';
export { Resampler, TARGET_RATE } from '../engine/audio/resampler.js';
