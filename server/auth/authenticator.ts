/**
 * Who a request is: API keys (stored as sha256 digests), HS256 JWTs and, on the WebSocket endpoints they were minted
 * for, temporary tokens (temporary-tokens.ts); or everyone is `anonymous` when auth is off.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { errors as joseErrors, jwtVerify } from 'jose';
import { extractCredential } from './credential.js';
import { TOKEN_PREFIX, TemporaryTokens } from './temporary-tokens.js';

export interface AuthConfig {
  /** sha256 hex digests of the accepted API keys (the keys themselves are never stored). */
  apiKeyHashes: readonly string[];
  /** Shared secret for HS256 JWTs; undefined accepts no JWTs. */
  jwtSecret: string | undefined;
  /** JWTs whose `exp` lies further ahead than this are refused: a stolen long-lived token would be a key. */
  jwtMaxLifetimeS: number;
}

export type AuthResult = { ok: true; principal: string } | { ok: false; reason: string };

/** Hex sha256 of an API key, as stored in API_KEY_HASHES (see `npm run hash-api-key`). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

const looksLikeJwt = (token: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);
/** Credentials longer than this are neither keys nor tokens of ours; they are refused before any work. */
const MAX_CREDENTIAL_CHARS = 4096;

/** Principals of API keys begin so: only they may mint temporary tokens. */
export const KEY_PRINCIPAL = 'key:';

export const MISSING_CREDENTIAL =
  'missing credential: send Authorization: Bearer <key or JWT>, the subprotocols ["bearer", <token>], or ?token=';

export class Authenticator {
  readonly enabled: boolean;
  private readonly keyDigests: Buffer[];
  private readonly jwtKey: Uint8Array | undefined;
  /** Short-lived tokens minted by key holders, checked here and issued by the token routes. */
  readonly tokens: TemporaryTokens;

  constructor(private readonly config: AuthConfig) {
    this.tokens = new TemporaryTokens(TemporaryTokens.keyFrom(config.jwtSecret));
    this.keyDigests = config.apiKeyHashes.map((hex) => Buffer.from(hex, 'hex'));
    this.jwtKey = config.jwtSecret === undefined ? undefined : new TextEncoder().encode(config.jwtSecret);
    this.enabled = this.keyDigests.length > 0 || this.jwtKey !== undefined;
  }

  /** `query` is the request's parsed query string, where `?token=` may carry the credential. */
  authenticate(req: IncomingMessage, query: URLSearchParams): Promise<AuthResult> {
    return this.verify(extractCredential(req, query)?.token, MISSING_CREDENTIAL);
  }

  /**
   * Checks a credential a protocol found in its own place; `missing` says where it should have been. `scope`, the
   * WebSocket path being opened, is where a temporary token may be used; without one, none is accepted.
   */
  async verify(token: string | undefined, missing: string, scope?: string): Promise<AuthResult> {
    if (!this.enabled) return { ok: true, principal: 'anonymous' };
    if (!token) return { ok: false, reason: missing };
    if (token.length > MAX_CREDENTIAL_CHARS) return { ok: false, reason: 'invalid credential' };
    if (token.startsWith(TOKEN_PREFIX)) return this.tokens.redeem(token, scope);
    const digest = createHash('sha256').update(token, 'utf8').digest();
    // Compare against every key so the time taken does not reveal which one nearly matched.
    let matched: Buffer | undefined;
    for (const known of this.keyDigests) if (timingSafeEqual(known, digest)) matched = known;
    if (matched) return { ok: true, principal: `${KEY_PRINCIPAL}${matched.toString('hex').slice(0, 12)}` };
    if (this.jwtKey && looksLikeJwt(token)) return this.verifyJwt(token, this.jwtKey);
    return { ok: false, reason: 'invalid credential' };
  }

  private async verifyJwt(token: string, key: Uint8Array): Promise<AuthResult> {
    try {
      const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] });
      // Two principals must never be able to name the same sessions: only a non-empty string is a subject.
      if (typeof payload.sub !== 'string' || payload.sub === '')
        return { ok: false, reason: 'invalid token: sub must be a non-empty string' };
      const exp = payload.exp ?? 0;
      if (exp - Date.now() / 1000 > this.config.jwtMaxLifetimeS) {
        return {
          ok: false,
          reason: `invalid token: it expires more than ${this.config.jwtMaxLifetimeS} s from now (JWT_MAX_LIFETIME_S)`,
        };
      }
      return { ok: true, principal: `jwt:${payload.sub}` };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return { ok: false, reason: 'token expired' };
      if (error instanceof joseErrors.JOSEError) return { ok: false, reason: `invalid token (${error.code})` };
      throw error;
    }
  }
}
