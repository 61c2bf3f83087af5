/** A plain WebSocket (the `ws` package) as a Transport of text and binary frames. */
import type { RawData, WebSocket } from 'ws';
import type { Transport } from './transport.js';

export interface Frame {
  data: Buffer;
  binary: boolean;
}

const toBuffer = (data: RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);

export class WsTransport implements Transport<Frame, string> {
  readonly liveness: { ping(): void; onPong(handler: () => void): void };
  private outbound: { maxBytes: number; overflow: () => void } | null = null;

  constructor(private readonly ws: WebSocket) {
    this.liveness = {
      ping: () => ws.ping(),
      onPong: (handler) => ws.on('pong', handler),
    };
    // Errors end in a close event, which the binding handles; without a listener they would crash the process.
    ws.on('error', () => undefined);
  }

  onMessage(handler: (message: Frame, text: Uint8Array | null) => void): void {
    this.ws.on('message', (data, binary) => {
      const buffer = toBuffer(data);
      handler({ data: buffer, binary }, binary ? null : buffer);
    });
  }

  onClose(handler: (code: number) => void): void {
    this.ws.once('close', (code) => handler(code));
  }

  send(message: string): void {
    if (!this.open) return;
    this.ws.send(message);
    if (this.outbound && this.ws.bufferedAmount > this.outbound.maxBytes) this.outbound.overflow();
  }

  limitOutbound(maxBytes: number, overflow: () => void): void {
    this.outbound = { maxBytes, overflow };
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    if (this.open) this.ws.resume();
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }
}
