/**
 * Short-lived tokens for code that must not hold an API key (a browser): minted by a caller with a key for one
 * endpoint (AssemblyAI's /v3/ws, OpenAI Realtime's /v1/realtime), valid for a bounded time, single-use where the
 * vendor's are. A token is self-contained and signed (HMAC-SHA256), so every instance that shares the signing key
 * accepts it; the redeemed single-use tokens are remembered, until they expire, by the instance that saw them.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'ek_';
/** The longest a token may live; what a vendor allows beyond it is held to it. */
export const MAX_TOKEN_LIFETIME_S = 600;
/** Redeemed single-use tokens remembered at once; past it new ones are refused until old ones expire. */
const MAX_REDEEMED = 100_000;

export interface TokenGrant {
  /** The WebSocket path it opens. */
  scope: string;
  /** Whose it is: sessions it opens count against the principal of the key that minted it. */
  principal: string;
  singleUse: boolean;
  /** Settings the sessions it opens start with (an OpenAI client secret's `session`), as JSON. */
  session?: unknown;
}

interface Payload {
  /** Scope, principal, expiry (ms since the epoch), single use, nonce, session settings. */
  s: string;
  p: string;
  e: number;
  u: boolean;
  n: string;
  c?: unknown;
}

export type Redemption = { ok: true; principal: string } | { ok: false; reason: string };

/**
 * The session settings a token carries, read without checking its signature: only for a connection whose upgrade
 * already redeemed it (the settings are then the minter's). Undefined for anything else.
 */
export function tokenSession(token: string | undefined): unknown {
  if (!token?.startsWith(TOKEN_PREFIX)) return undefined;
  const body = token.slice(TOKEN_PREFIX.length, Math.max(TOKEN_PREFIX.length, token.lastIndexOf('.')));
  try {
    const value: unknown = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? Reflect.get(value, 'c') : undefined;
  } catch {
    return undefined;
  }
}

export class TemporaryTokens {
  /** Nonce of each redeemed single-use token, and when it expires. */
  private readonly redeemed = new Map<string, number>();

  constructor(
    private readonly key: Uint8Array,
    private readonly now: () => number = Date.now,
  ) {}

  /** A signing key from a secret all instances share (JWT_SECRET), or a random one for this process alone. */
  static keyFrom(secret: string | undefined): Uint8Array {
    if (secret === undefined) return randomBytes(32);
    return createHmac('sha256', secret).update('whisper-stream-server temporary tokens').digest();
  }

  /** A token for `grant`, valid `lifetimeS` seconds (1 to MAX_TOKEN_LIFETIME_S), and when it expires. */
  issue(grant: TokenGrant, lifetimeS: number): { token: string; expiresAtMs: number } {
    if (!(Number.isInteger(lifetimeS) && lifetimeS >= 1 && lifetimeS <= MAX_TOKEN_LIFETIME_S))
      throw new RangeError(`token lifetime must be 1-${MAX_TOKEN_LIFETIME_S} s`);
    const expiresAtMs = this.now() + lifetimeS * 1000;
    const payload: Payload = {
      s: grant.scope,
      p: grant.principal,
      e: expiresAtMs,
      u: grant.singleUse,
      n: randomBytes(12).toString('base64url'),
    };
    if (grant.session !== undefined) payload.c = grant.session;
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return { token: `${TOKEN_PREFIX}${body}.${this.sign(body)}`, expiresAtMs };
  }

  /** Whether `token` opens `scope` now; a single-use token opens it once. */
  redeem(token: string, scope: string | undefined): Redemption {
    const payload = this.read(token);
    if (!payload) return { ok: false, reason: 'invalid credential' };
    if (scope === undefined || payload.s !== scope)
      return { ok: false, reason: `this temporary token is for ${payload.s.slice(0, 40)} only` };
    const now = this.now();
    if (payload.e <= now) return { ok: false, reason: 'token expired' };
    if (payload.u) {
      this.forgetExpired(now);
      if (this.redeemed.has(payload.n))
        return { ok: false, reason: 'this temporary token was used already (each opens one session)' };
      if (this.redeemed.size >= MAX_REDEEMED)
        return { ok: false, reason: 'too many temporary tokens in use; try again shortly' };
      this.redeemed.set(payload.n, payload.e);
    }
    return { ok: true, principal: payload.p };
  }

  private read(token: string): Payload | null {
    const dot = token.lastIndexOf('.');
    if (!token.startsWith(TOKEN_PREFIX) || dot < 0) return null;
    const body = token.slice(TOKEN_PREFIX.length, dot);
    const mac = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.sign(body), 'base64url');
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return null;
    try {
      const value: unknown = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      if (typeof value !== 'object' || value === null) return null;
      const { s, p, e, u, n } = Object.fromEntries(Object.entries(value));
      if (
        typeof s !== 'string' ||
        typeof p !== 'string' ||
        typeof e !== 'number' ||
        typeof u !== 'boolean' ||
        typeof n !== 'string'
      )
        return null;
      return { s, p, e, u, n };
    } catch {
      return null;
    }
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }

  private forgetExpired(now: number): void {
    // Insertion order is close to expiry order; stop at the first that still lives.
    for (const [nonce, expires] of this.redeemed) {
      if (expires > now) break;
      this.redeemed.delete(nonce);
    }
  }
}
