export { StreamClient, type StreamClientOptions, type Transcript, type ServerError, type ClientEvents, type WebSocketLike, type WebSocketFactory } from './stream-client.js';
export { Resampler, TARGET_RATE } from '../engine/audio/resampler.js';
