/**
 * Which browser origins may use the server. A browser sends `Origin` with every WebSocket upgrade and cross-site
 * POST, and lets any page make them: without this check any web page a user visits could stream to, or upload to,
 * a server on their machine or network. Requests without `Origin` come from programs, not pages, and are allowed.
 */
import type { IncomingHttpHeaders } from 'node:http';

export class OriginPolicy {
  private readonly allowed: ReadonlySet<string>;
  private readonly any: boolean;

  /** `allowed`: origins besides the server's own (ALLOWED_ORIGINS); `*` allows any. */
  constructor(
    allowed: readonly string[],
    private readonly scheme: 'http' | 'https',
  ) {
    this.any = allowed.includes('*');
    this.allowed = new Set(allowed);
  }

  allows(req: { headers: IncomingHttpHeaders }): boolean {
    const origin = req.headers.origin;
    if (origin === undefined || this.any || this.allowed.has(origin)) return true;
    // The page's own server: its origin names the host the request was sent to.
    return req.headers.host !== undefined && origin === `${this.scheme}://${req.headers.host}`;
  }
}
