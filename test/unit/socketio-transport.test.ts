/** SocketIoTransport on a bare Socket.IO server: events and acks in, pausing, the outbound buffer figure, closing. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { Server, type Socket } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { SocketIoTransport, type SocketIoEvent } from '../../server/ws/socketio-transport.js';

const http = createServer();
const io = new Server(http);
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
t.teardown(() => io.close());

/** A connected client and the server side of it wrapped in a transport. */
async function pair(
  transports: ('websocket' | 'polling')[],
): Promise<{ client: ClientSocket; transport: SocketIoTransport; socket: Socket }> {
  const accepted = new Promise<Socket>((resolve) => io.once('connection', resolve));
  const client = connect(url, { transports, forceNew: true, reconnection: false });
  const socket = await accepted;
  await new Promise<void>((resolve) => (client.connected ? resolve() : client.once('connect', () => resolve())));
  return { client, transport: new SocketIoTransport(socket), socket };
}

const websocketOf = (socket: Socket): WebSocket => {
  const ws: unknown = Reflect.get(socket.conn.transport, 'socket');
  if (!(ws instanceof WebSocket)) throw new Error('not a websocket transport');
  return ws;
};

t.test('events arrive with their arguments; an acknowledgement callback becomes `ack`', async (t) => {
  const { client, transport } = await pair(['websocket']);
  t.teardown(() => client.close());
  const received: SocketIoEvent[] = [];
  transport.onMessage((message) => {
    received.push(message);
    message.ack?.({ ok: message.name });
  });
  client.emit('plain', 1, 'two');
  t.same(await client.emitWithAck('asks', { x: 1 }), { ok: 'asks' });
  t.same(
    received.map(({ name, args, ack }) => ({ name, args, ack: ack !== null })),
    [
      { name: 'plain', args: [1, 'two'], ack: false },
      { name: 'asks', args: [{ x: 1 }], ack: true },
    ],
  );
});

t.test(
  'on a websocket, pause and resume reach the ws socket, and bufferedAmount counts the packets engine.io holds',
  async (t) => {
    const { client, transport, socket } = await pair(['websocket']);
    t.teardown(() => client.close());
    transport.pause();
    t.equal(websocketOf(socket).isPaused, true, 'paused');
    transport.resume();
    t.equal(websocketOf(socket).isPaused, false, 'resumed');

    const count = 50;
    const payload = { text: 'x'.repeat(10_000) };
    let arrived = 0;
    const all = new Promise<void>((resolve) =>
      client.on('blob', () => {
        if (++arrived === count) resolve();
      }),
    );
    for (let i = 0; i < count; i++) transport.send({ name: 'blob', payload });
    // The first packet went to the ws socket; the rest wait in engine.io's buffer until that one is written.
    t.ok(transport.bufferedAmount >= (count - 1) * 10_000, `queued: ${transport.bufferedAmount} bytes`);
    await all;
    t.equal(transport.bufferedAmount, 0, 'nothing left once the client has it all');
  },
);

t.test('on long-polling, pausing is a no-op and events flow as before', async (t) => {
  const { client, transport } = await pair(['polling']);
  t.teardown(() => client.close());
  transport.pause();
  const echoed = new Promise<unknown>((resolve) => client.once('echo', resolve));
  transport.onMessage((message) => transport.send({ name: 'echo', payload: { args: message.args } }));
  client.emit('hello', 'world');
  t.same(await echoed, { args: ['world'] });
  transport.resume();
});

t.test('close disconnects the client and reports the code it was given; terminate drops the connection', async (t) => {
  const closed = await pair(['websocket']);
  const codes: number[] = [];
  closed.transport.onClose((code) => codes.push(code));
  const reason = new Promise<string>((resolve) => closed.client.once('disconnect', resolve));
  closed.transport.close(4002, 'idle timeout');
  t.equal(await reason, 'io server disconnect');
  t.same(codes, [4002]);
  t.equal(closed.transport.open, false);

  const dropped = await pair(['websocket']);
  const lost = new Promise<number>((resolve) => dropped.transport.onClose(resolve));
  const dropReason = new Promise<string>((resolve) => dropped.client.once('disconnect', resolve));
  dropped.transport.terminate();
  t.equal(await lost, 1006, 'a lost connection');
  t.equal(await dropReason, 'transport close');

  const left = await pair(['polling']);
  const normal = new Promise<number>((resolve) => left.transport.onClose(resolve));
  left.client.disconnect();
  t.equal(await normal, 1000, 'the client left on purpose');
});
