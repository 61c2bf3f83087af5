/**
 * Bounds on what Engine.IO connections cost before and around their one /speech socket: handshakes that have not
 * joined /speech yet, per address and in all (each holds memory and timers until it joins or times out), and
 * namespace connects per connection (Socket.IO would make a socket of every one, 270,000 of them on a few).
 */
import type { Socket } from 'socket.io';

type EngineConnection = Socket['conn'];

/** Connections that have not joined /speech yet, per client address: a real client joins within a round trip. */
export const MAX_PENDING_PER_ADDRESS = 32;
export const MAX_PENDING = 256;
/**
 * How long a connection may take to join /speech after its handshake. Socket.IO's own timeout (45 s by default) closes
 * a long-polling connection gracefully, which waits up to 30 s more for a poll that never comes; this one discards it.
 */
export const CONNECT_TIMEOUT_MS = 5000;
/** Namespace connects one connection may ask for in its life; it holds one /speech socket at a time. */
export const MAX_CONNECTS_PER_CONNECTION = 4;

/** Socket.IO's CONNECT packet: type 0, then the namespace (`0`, `0/speech,{...}`). */
const isConnectPacket = (packet: { type: string; data?: unknown }): boolean =>
  packet.type === 'message' && typeof packet.data === 'string' && packet.data.startsWith('0');

export class EngineAdmission {
  private readonly pending = new Map<EngineConnection, string>();
  private readonly pendingByAddress = new Map<string, number>();
  /** Connections with a /speech socket, connected or being admitted. */
  private readonly joined = new WeakSet<EngineConnection>();

  /** Why a new handshake from `address` is refused, or null. */
  refusal(address: string): string | null {
    if (this.pending.size >= MAX_PENDING) return 'too many Socket.IO connections waiting to join /speech';
    if ((this.pendingByAddress.get(address) ?? 0) >= MAX_PENDING_PER_ADDRESS) {
      return 'too many Socket.IO connections from this address waiting to join /speech';
    }
    return null;
  }

  /** A handshake succeeded: the connection waits to join /speech; past its namespace connects it is closed. */
  opened(connection: EngineConnection): void {
    const address = connection.remoteAddress;
    this.pending.set(connection, address);
    this.pendingByAddress.set(address, (this.pendingByAddress.get(address) ?? 0) + 1);
    let connects = 0;
    connection.on('packet', (packet: { type: string; data?: unknown }) => {
      if (isConnectPacket(packet) && (++connects > MAX_CONNECTS_PER_CONNECTION || this.joined.has(connection)))
        connection.close(true);
    });
    const timeout = setTimeout(() => {
      if (this.pending.has(connection)) connection.close(true);
    }, CONNECT_TIMEOUT_MS);
    connection.once('close', () => {
      clearTimeout(timeout);
      this.settle(connection);
    });
  }

  /**
   * A /speech socket asks to be admitted on `connection`: false when the connection already has one (or is closing
   * because it asked for another). Otherwise it holds the connection's place until left() is called.
   */
  join(connection: EngineConnection): boolean {
    if (this.joined.has(connection) || connection.readyState !== 'open') return false;
    this.joined.add(connection);
    return true;
  }

  /** The connection's /speech socket is connected: the connection no longer counts as waiting. */
  connected(connection: EngineConnection): void {
    this.settle(connection);
  }

  /** The connection's /speech socket was refused or disconnected: it may ask for another. */
  left(connection: EngineConnection): void {
    this.joined.delete(connection);
  }

  private settle(connection: EngineConnection): void {
    const address = this.pending.get(connection);
    if (address === undefined) return;
    this.pending.delete(connection);
    const left = (this.pendingByAddress.get(address) ?? 1) - 1;
    if (left > 0) this.pendingByAddress.set(address, left);
    else this.pendingByAddress.delete(address);
  }
}
