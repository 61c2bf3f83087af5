import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { errors as joseErrors, jwtVerify } from 'jose';
import { extractCredential } from './credential.js';

export interface AuthConfig {
  /** sha256 hex digests of the accepted API keys (the keys themselves are never stored). */
  apiKeyHashes: readonly string[];
  /** Shared secret for HS256 JWTs; undefined accepts no JWTs. */
  jwtSecret: string | undefined;
}

export type AuthResult = { ok: true; principal: string } | { ok: false; reason: string };

/** Hex sha256 of an API key, as stored in API_KEY_HASHES (see `npm run hash-api-key`). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

const looksLikeJwt = (token: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);

/**
 * Decides who a request is. With no keys and no JWT secret configured, authentication is off and everyone is the
 * `anonymous` principal; otherwise a request needs a valid API key or an unexpired HS256 JWT with a subject.
 */
export class Authenticator {
  readonly enabled: boolean;
  private readonly keyDigests: Buffer[];
  private readonly jwtKey: Uint8Array | undefined;

  constructor(config: AuthConfig) {
    this.keyDigests = config.apiKeyHashes.map((hex) => Buffer.from(hex, 'hex'));
    this.jwtKey = config.jwtSecret === undefined ? undefined : new TextEncoder().encode(config.jwtSecret);
    this.enabled = this.keyDigests.length > 0 || this.jwtKey !== undefined;
  }

  /** `query` is the request's parsed query string, where `?token=` may carry the credential. */
  async authenticate(req: IncomingMessage, query: URLSearchParams): Promise<AuthResult> {
    if (!this.enabled) return { ok: true, principal: 'anonymous' };
    const credential = extractCredential(req, query);
    if (!credential) {
      return { ok: false, reason: 'missing credential: send Authorization: Bearer <key or JWT>, the subprotocols ["bearer", <token>], or ?token=' };
    }
    const digest = createHash('sha256').update(credential.token, 'utf8').digest();
    // Compare against every key so the time taken does not reveal which one nearly matched.
    let matched: Buffer | undefined;
    for (const known of this.keyDigests) if (timingSafeEqual(known, digest)) matched = known;
    if (matched) return { ok: true, principal: `key:${matched.toString('hex').slice(0, 12)}` };
    if (this.jwtKey && looksLikeJwt(credential.token)) return this.verifyJwt(credential.token, this.jwtKey);
    return { ok: false, reason: 'invalid credential' };
  }

  private async verifyJwt(token: string, key: Uint8Array): Promise<AuthResult> {
    try {
      const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] });
      return { ok: true, principal: `jwt:${payload.sub}` };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return { ok: false, reason: 'token expired' };
      if (error instanceof joseErrors.JOSEError) return { ok: false, reason: `invalid token (${error.code})` };
      throw error;
    }
  }
}
