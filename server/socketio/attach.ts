/**
 * Socket.IO on the server's own HTTP listener (path /socket.io/, its client bundle included): the /speech namespace,
 * whose handshakes are checked like WebSocket upgrades (origin, readiness, credential) and whose sockets are bound to
 * sessions through the same socket binding as every other endpoint.
 */
import type { IncomingMessage } from 'node:http';
import { Server, type DefaultEventsMap, type ExtendedError, type Socket } from 'socket.io';
import { SPEECH_NAMESPACE } from '../../protocol/speech-socketio.js';
import { extractCredential } from '../auth/credential.js';
import type { OriginPolicy } from '../http/origin-policy.js';
import { CONNECT_TIMEOUT_MS, EngineAdmission } from './engine-admission.js';
import { requestTarget } from '../http/request-target.js';
import type { Logger } from '../log.js';
import type { ServerMetrics } from '../metrics.js';
import { MAX_PAYLOAD_BYTES, type StreamServer } from '../stream-server.js';
import { SocketIoSpeechAdapter } from '../ws/adapters/socketio-speech.js';
import { SocketIoTransport, type SocketIoEvent } from '../ws/socketio-transport.js';

/** Engine.io's path: it takes every request and upgrade whose target starts with it. */
const ENGINE_PATH = '/socket.io/';

const MISSING_SOCKETIO_CREDENTIAL =
  'missing credential: connect with io(url, { auth: { token } }), an Authorization: Bearer header, or ?token=';

interface SpeechSocketData {
  principal: string;
}
type SpeechSocket = Socket<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, SpeechSocketData>;
type EngineConnection = Socket['conn'];

export interface SocketIoOptions {
  log: Logger;
  metrics: ServerMetrics;
  origins: OriginPolicy;
}

/** A connect_error for the client: `message` says why, `data.code` is stable. */
function refusal(code: string, message: string): ExtendedError {
  const error: ExtendedError = new Error(message);
  error.data = { code };
  return error;
}

/** The token from Socket.IO's `auth: { token }`, else from the Authorization header or `?token=` of the handshake. */
function credential(socket: SpeechSocket): string | undefined {
  const token: unknown = socket.handshake.auth['token'];
  if (typeof token === 'string' && token !== '') return token;
  const request: IncomingMessage = socket.request;
  return extractCredential(request, requestTarget(request)?.searchParams ?? new URLSearchParams())?.token;
}

export function attachSocketIo(server: StreamServer, { log, metrics, origins }: SocketIoOptions): void {
  const admission = new EngineAdmission();
  const io = new Server<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, SpeechSocketData>(server.server, {
    path: ENGINE_PATH.slice(0, -1),
    // EngineAdmission closes connections that join nothing sooner, and without waiting for a poll.
    connectTimeout: 2 * CONNECT_TIMEOUT_MS,
    // Upgrades on other paths (/stream, /speech, ...) belong to StreamServer: engine.io must leave them alone.
    destroyUpgrade: false,
    maxHttpBufferSize: MAX_PAYLOAD_BYTES,
    // The origin policy of every endpoint: CORS headers for allowed origins only, and others refused at the handshake.
    cors: (req, callback) => callback(null, { origin: origins.allows(req) }),
    allowRequest: (req, callback) => {
      if (!origins.allows(req)) {
        metrics.refused('origin');
        return callback('this origin may not connect (ALLOWED_ORIGINS)', false);
      }
      const crowded = admission.refusal(req.socket.remoteAddress ?? 'unknown');
      if (crowded) metrics.refused('handshakes');
      callback(crowded, crowded === null);
    },
  });
  // At shutdown the bindings have finished their sockets; this closes the engine.io connections left (those that never
  // joined /speech), each after what it still has to send. Engine.io closes itself with the HTTP server.
  const connections = new Set<EngineConnection>();
  io.engine.on('connection', (connection: EngineConnection) => {
    admission.opened(connection);
    connections.add(connection);
    connection.once('close', () => connections.delete(connection));
  });
  server.delegateUpgrades(ENGINE_PATH, () => {
    for (const connection of connections) connection.close();
  });

  // Only /speech serves anything; a socket idling on the main namespace would hold resources for nothing.
  io.of('/').use((_socket, next) => next(refusal('not_found', `no such namespace: connect to ${SPEECH_NAMESPACE}`)));
  const speech = io.of(SPEECH_NAMESPACE);
  speech.use((socket, next) => {
    const runtime = server.accepting;
    if (!runtime) return next(refusal('not_ready', 'the server is not ready: loading, or shutting down'));
    if (!admission.join(socket.conn)) {
      metrics.refused('sockets');
      return next(refusal('too_many_sockets', `one ${SPEECH_NAMESPACE} socket per connection`));
    }
    const refuse = (error: ExtendedError): void => {
      admission.left(socket.conn);
      next(error);
    };
    runtime.authenticator.verify(credential(socket), MISSING_SOCKETIO_CREDENTIAL).then(
      (auth) => {
        if (!auth.ok) {
          metrics.refused('unauthorized');
          return refuse(refusal('unauthorized', auth.reason));
        }
        socket.data.principal = auth.principal;
        next();
      },
      (error: unknown) => {
        log.error('authentication failed', { error });
        refuse(refusal('internal_error', 'authentication failed'));
      },
    );
  });
  speech.on('connection', (socket) => {
    admission.connected(socket.conn);
    socket.once('disconnect', () => admission.left(socket.conn));
    const runtime = server.accepting;
    if (!runtime) {
      socket.disconnect(true);
      return;
    }
    const connectionLog = server.connectionLog();
    const { principal } = socket.data;
    connectionLog.info('socket opened', {
      path: `socket.io ${SPEECH_NAMESPACE}`,
      transport: socket.conn.transport.name,
      remote: socket.handshake.address,
      principal,
    });
    const transport = new SocketIoTransport(socket);
    const adapter = new SocketIoSpeechAdapter((message) => transport.send(message));
    server.bind<SocketIoEvent>(runtime, transport, adapter, {
      principal,
      remoteAddress: socket.handshake.address,
      resume: null,
      log: connectionLog,
      maxTextBytes: MAX_PAYLOAD_BYTES,
    });
  });
}
