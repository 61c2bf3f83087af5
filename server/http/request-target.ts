import type { IncomingMessage } from 'node:http';

/**
 * The request target as a URL, or null when it cannot be one. Node's HTTP parser lets targets like `//[` through,
 * and `new URL` throws on them; parsing once here lets every route answer 400 instead of crashing the process.
 */
export function requestTarget(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://server');
  } catch {
    return null;
  }
}
