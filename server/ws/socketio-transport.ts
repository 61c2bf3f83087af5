/**
 * A Socket.IO socket as a Transport of events: what the client emits (with its acknowledgement callback) in, events to
 * emit out. Engine.io keeps the connection alive itself (its own ping/pong), so there is no `liveness` here.
 */
import type { Socket } from 'socket.io';
import { WebSocket } from 'ws';
import { CloseCode } from './close-codes.js';
import type { Transport } from './transport.js';

/** An event the client emitted; `ack` answers its acknowledgement callback, when it passed one. */
export interface SocketIoEvent {
  name: string;
  args: unknown[];
  ack: ((reply: unknown) => void) | null;
}

export interface SocketIoMessage {
  name: string;
  payload: object;
}

/** Reported for a connection lost without either side closing it (as WebSocket's 1006). */
const LOST = 1006;

type EngineTransport = Socket['conn']['transport'];

/**
 * The `ws` socket under engine.io's websocket transport, or null under HTTP long-polling. Engine.io keeps it in a
 * field its typings mark private, hence the runtime check: any other engine.io gets no pausing rather than a crash.
 */
function websocketOf(transport: EngineTransport): WebSocket | null {
  if (transport.name !== 'websocket') return null;
  const ws: unknown = Reflect.get(transport, 'socket');
  return ws instanceof WebSocket ? ws : null;
}

const packetBytes = (data: unknown): number =>
  typeof data === 'string'
    ? Buffer.byteLength(data)
    : data instanceof ArrayBuffer || ArrayBuffer.isView(data)
      ? data.byteLength
      : 0;

export class SocketIoTransport implements Transport<SocketIoEvent, SocketIoMessage> {
  private paused = false;
  /** Bytes of the engine.io packets in its write buffer: `packetCreate` adds one, `flush` hands them all on. */
  private queuedBytes = 0;
  /** The code our own close() gave, reported when the disconnect it causes comes back. */
  private closeCode: number | null = null;
  private outbound: { maxBytes: number; overflow: () => void } | null = null;

  constructor(private readonly socket: Socket) {
    const conn = socket.conn;
    conn.on('packetCreate', (packet: { data?: unknown }) => {
      this.queuedBytes += packetBytes(packet.data);
    });
    conn.on('flush', () => {
      this.queuedBytes = 0;
    });
    // A connection that moves from long-polling to a websocket while paused stays paused.
    conn.on('upgrade', () => {
      if (this.paused) this.websocket?.pause();
    });
    // Socket.IO emits 'error' on a socket for a malformed packet; unheard, it would throw. The connection then closes.
    socket.on('error', () => undefined);
  }

  onMessage(handler: (message: SocketIoEvent, text: Uint8Array | null) => void): void {
    this.socket.onAny((name: string, ...args: unknown[]) => {
      const last = args.at(-1);
      if (typeof last !== 'function') return handler({ name, args, ack: null }, null);
      handler({ name, args: args.slice(0, -1), ack: (reply) => void last(reply) }, null);
    });
  }

  onClose(handler: (code: number) => void): void {
    this.socket.on('disconnect', (reason) =>
      handler(this.closeCode ?? (reason === 'client namespace disconnect' ? CloseCode.normal : LOST)),
    );
  }

  send(message: SocketIoMessage): void {
    if (!this.open) return;
    this.socket.emit(message.name, message.payload);
    if (this.outbound && this.bufferedAmount > this.outbound.maxBytes) this.outbound.overflow();
  }

  limitOutbound(maxBytes: number, overflow: () => void): void {
    this.outbound = { maxBytes, overflow };
  }

  get open(): boolean {
    return this.socket.connected;
  }

  /**
   * Engine.io packets not yet written out: those waiting in its write buffer (they pile up while the transport is still
   * busy with the previous batch, or until a long-polling client polls again), plus, on a websocket, the bytes the
   * `ws` socket holds for the kernel.
   */
  get bufferedAmount(): number {
    return this.queuedBytes + (this.websocket?.bufferedAmount ?? 0);
  }

  /**
   * Stops reading the websocket, so TCP pushes back on the sender. Long-polling cannot be paused (each POST is read
   * whole): there only the per-message limits hold. Engine.io's ping goes unanswered while paused, so a pause longer
   * than its pingInterval + pingTimeout (45 s) ends the connection as a ping timeout.
   */
  pause(): void {
    this.paused = true;
    this.websocket?.pause();
  }

  resume(): void {
    this.paused = false;
    if (this.open) this.websocket?.resume();
  }

  /** Socket.IO carries neither code nor reason: the client sees the disconnect reason "io server disconnect". */
  close(code: number, _reason: string): void {
    this.closeCode ??= code;
    this.socket.disconnect(true);
  }

  terminate(): void {
    this.websocket?.terminate();
    this.socket.conn.close(true);
  }

  private get websocket(): WebSocket | null {
    return websocketOf(this.socket.conn.transport);
  }
}
