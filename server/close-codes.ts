/** WebSocket close codes the server uses; docs/PROTOCOL.md lists them. */
export const CloseCode = {
  normal: 1000,
  shuttingDown: 1001,
  internalError: 1011,
  /** Another socket resumed this session. */
  replaced: 4001,
  /** No audio for IDLE_TIMEOUT_MS. */
  idle: 4002,
  /** The session reached MAX_SESSION_MS. */
  maxDuration: 4003,
} as const;
