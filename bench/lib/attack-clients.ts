/**
 * Attacking clients that a well-behaved library would not let us be: a WebSocket written frame by frame on a bare
 * TCP socket (floods of tiny frames, a peer that never reads or never answers a close), upgrade attempts that
 * report the HTTP refusal, multipart uploads with any header, and a remote that accepts and never answers.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import WebSocket from 'ws';
import { clock } from './attack-monitor.js';
import { loopbackOnly } from './attack-server.js';

export const Opcode = { text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

const HANDSHAKE_TIMEOUT_MS = 5000;

/**
 * One client frame. Clients must mask; an all-zero key is a valid mask that leaves the payload as it is, so a
 * flood can be built once and written in bulk.
 */
export function clientFrame(opcode: number, payload: Uint8Array): Buffer {
  const length = payload.byteLength;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.alloc(header + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.set(payload, header + 4);
  return frame;
}

export type RawOpen = { ws: RawWebSocket } | { status: number };

/** A WebSocket client on a bare socket: it sends what it is told, reads only when told, and counts what comes back. */
export class RawWebSocket {
  textCount = 0;
  largestText = 0;
  /** Count of each error `code` in the server's text messages. */
  readonly codes = new Map<string, number>();
  /** Close code of the server's close frame (1005 when it carried none); null before one arrives. */
  closeCode: number | null = null;
  /** clock() at the close frame, or at the socket closing without one. */
  closedAt: number | null = null;
  readonly socketClosed: Promise<void>;
  private pending: Buffer;

  private constructor(
    readonly socket: Socket,
    rest: Buffer,
  ) {
    this.pending = Buffer.alloc(0);
    this.socketClosed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedAt ??= clock();
        resolve();
      }),
    );
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.receive(rest);
  }

  /** Opens a connection and upgrades it; an HTTP refusal resolves with its status. */
  static async open(url: string): Promise<RawOpen> {
    const target = new URL(loopbackOnly(url));
    const socket = connect({ host: target.hostname, port: Number(target.port) });
    socket.setNoDelay(true);
    socket.write(
      `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: ` +
        'websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    return new Promise((resolve, reject) => {
      let received = Buffer.alloc(0);
      const timer = setTimeout(
        () => fail(new Error(`no handshake answer within ${HANDSHAKE_TIMEOUT_MS} ms`)),
        HANDSHAKE_TIMEOUT_MS,
      );
      const fail = (error: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      const onData = (chunk: Buffer): void => {
        received = Buffer.concat([received, chunk]);
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(received.subarray(0, end).toString('latin1'))?.[1] ?? 0);
        if (status === 101) {
          clearTimeout(timer);
          socket.off('data', onData);
          socket.off('error', fail);
          socket.on('error', () => undefined);
          resolve({ ws: new RawWebSocket(socket, received.subarray(end + 4)) });
          return;
        }
        clearTimeout(timer);
        socket.destroy();
        resolve({ status });
      };
      socket.on('data', onData);
      socket.once('error', fail);
    });
  }

  /** Writes one frame; false when the socket's buffer is full (see drained). */
  send(opcode: number, payload: Uint8Array): boolean {
    return this.write(clientFrame(opcode, payload));
  }

  /** Writes prebuilt frames. */
  write(bytes: Uint8Array): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(bytes);
  }

  /** Resolves true once the socket's write buffer drained, false after `timeoutMs` or when the socket closed. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.socket.destroyed) return Promise.resolve(false);
    if (this.socket.writableLength === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.socket.off('drain', onDrain);
        this.socket.off('close', onClose);
        resolve(ok);
      };
      const onDrain = (): void => done(true);
      const onClose = (): void => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    });
  }

  get closed(): boolean {
    return this.closedAt !== null;
  }

  /** A peer that never reads: the server's writes back up into its own buffers. */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** Gone the way a network failure goes: no close frame. */
  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.pending = this.pending.byteLength === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const frame = this.nextFrame();
      if (!frame) return;
      this.handle(frame.opcode, frame.payload);
    }
  }

  private nextFrame(): { opcode: number; payload: Buffer } | null {
    const data = this.pending;
    if (data.byteLength < 2) return null;
    let length = (data[1] as number) & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (data.byteLength < 4) return null;
      length = data.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (data.byteLength < 10) return null;
      length = Number(data.readBigUInt64BE(2));
      offset = 10;
    }
    if (data.byteLength < offset + length) return null;
    this.pending = data.subarray(offset + length);
    return { opcode: (data[0] as number) & 0x0f, payload: data.subarray(offset, offset + length) };
  }

  private handle(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.text) {
      this.textCount++;
      this.largestText = Math.max(this.largestText, payload.byteLength);
      const code = /"code":"([a-z_]+)"/.exec(payload.subarray(0, 200).toString('utf8'))?.[1];
      if (code) this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
    } else if (opcode === Opcode.close && this.closeCode === null) {
      this.closeCode = payload.byteLength >= 2 ? payload.readUInt16BE(0) : 1005;
      this.closedAt = clock();
    } else if (opcode === Opcode.ping) {
      this.send(Opcode.pong, payload);
    }
  }
}

/** Tries a WebSocket upgrade and closes it straight away if it succeeds: 101, else the HTTP status (0 for none). */
export function tryUpgrade(url: string, options: WebSocket.ClientOptions = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(loopbackOnly(url), { handshakeTimeout: HANDSHAKE_TIMEOUT_MS, ...options });
    ws.on('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.on('unexpected-response', (req, res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    ws.on('error', () => resolve(0));
  });
}

export interface PostResult {
  /** 0 when no answer came (connection error, abort, timeout). */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
  error?: string;
}

const MAX_BODY_KEPT = 64 * 1024;

/** POST multipart/form-data with a `file` and text fields, with any extra headers (Origin, ...). */
export function postForm(
  url: string,
  fields: Record<string, string>,
  file: Uint8Array | null,
  headers: Record<string, string> = {},
  options: { signal?: AbortSignal; timeoutMs?: number; localAddress?: string } = {},
): Promise<PostResult> {
  const boundary = `----attack${randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = Object.entries(fields).map(([name, value]) =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
  );
  if (file) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="audio.wav"\r\nContent-Type: ` +
          'audio/wav\r\n\r\n',
      ),
    );
    parts.push(Buffer.from(file.buffer, file.byteOffset, file.byteLength), Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  const body = Buffer.concat(parts);
  const started = clock();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<PostResult, 'ms'>): void => {
      if (settled) return;
      settled = true;
      resolve({ ...result, ms: Math.round(clock() - started) });
    };
    const req = request(
      loopbackOnly(url),
      {
        method: 'POST',
        // A connection of its own: Node's shared keep-alive agent times sockets out after 5 s, and a queued upload
        // waits longer.
        agent: false,
        headers: {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': body.byteLength,
          ...headers,
        },
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (text.length < MAX_BODY_KEPT) text += chunk;
        });
        res.on('end', () => finish({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        res.on('error', (error) =>
          finish({ status: res.statusCode ?? 0, headers: res.headers, body: text, error: error.message }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', (error) => finish({ status: 0, headers: {}, body: '', error: error.message }));
    req.end(body);
  });
}

/** A TCP server that accepts connections and never answers: a hung upstream. */
export class HungRemote {
  /** clock() when each connection was accepted. */
  readonly accepted: number[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<HungRemote> {
    const holder: { remote?: HungRemote } = {};
    const server = createServer((socket) => {
      holder.remote?.accepted.push(clock());
      holder.remote?.sockets.add(socket);
      socket.on('error', () => undefined);
      // Read and discard the request so the client's upload completes; then say nothing, ever.
      socket.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('hung remote has no port');
    holder.remote = new HungRemote(server, address.port);
    return holder.remote;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
