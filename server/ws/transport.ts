/**
 * What a socket binding needs of a connection, whatever carries it: a plain WebSocket (`ws`) or a Socket.IO socket.
 * `In` is what the client sends (a frame; a Socket.IO event), `Out` what the server sends back.
 */

/** A connection as the socket binding sees it. */
export interface Transport<In, Out> {
  /**
   * Delivers every client message, in order, with the bytes of its text as they came off the wire, for limits checked
   * before anything parses it: null for binary messages, and for Socket.IO events, which socket.io parses itself
   * (its maxHttpBufferSize bounds them).
   */
  onMessage(handler: (message: In, text: Uint8Array | null) => void): void;
  /** Once, when the connection is gone for whatever reason; `code` is the WebSocket close code where there is one. */
  onClose(handler: (code: number) => void): void;
  send(message: Out): void;
  /** After every send, `overflow` runs if more than `maxBytes` wait to be sent (see bufferedAmount). */
  limitOutbound(maxBytes: number, overflow: () => void): void;
  readonly open: boolean;
  /** Bytes queued for a client that is slow to read them. */
  readonly bufferedAmount: number;
  /** Stops reading from the client: TCP then pushes back on the sender. */
  pause(): void;
  resume(): void;
  /** Closes with a close frame and a reason the client can read. */
  close(code: number, reason: string): void;
  /** Drops the connection at once (a client that does not read would never take the close frame). */
  terminate(): void;
  /**
   * Proof of delivery: `ping` asks the client to answer, `onPong` hears the answer, which (TCP being in order) shows
   * the client has read everything sent before the ping. Absent where the transport keeps itself alive.
   */
  readonly liveness?: { ping(): void; onPong(handler: () => void): void };
}
