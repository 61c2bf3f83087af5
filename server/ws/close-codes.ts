/** WebSocket close codes the server uses; docs/PROTOCOL.md lists them. */
export const CloseCode = {
  normal: 1000,
  shuttingDown: 1001,
  /** A limit: too many messages or errors, or a client that does not read what it is sent. */
  policyViolation: 1008,
  /** A text message longer than its protocol's bound (MAX_TEXT_BYTES of its route), refused before it is parsed. */
  messageTooBig: 1009,
  internalError: 1011,
  /** The server restarts and handed the session off (shared store only): resume it, on another instance. */
  serviceRestart: 1012,
  /** MAX_SESSIONS sessions exist: a resume that failed could not fall back on a new session. */
  tryAgainLater: 1013,
  /** Another socket resumed this session. */
  replaced: 4001,
  /** No audio for IDLE_TIMEOUT_MS. */
  idle: 4002,
  /** The session reached MAX_SESSION_MS. */
  maxDuration: 4003,
} as const;
