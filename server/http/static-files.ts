import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { projectRoot } from '../../engine/paths.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * URL prefixes and the folders behind them: the demo page, the compiled client library it imports, and the two
 * browser-safe folders the library imports in turn (wire types and the resampler).
 */
const ROOTS: [prefix: string, dir: string][] = [
  ['/client/', join(projectRoot, 'dist', 'client')],
  ['/protocol/', join(projectRoot, 'dist', 'protocol')],
  ['/engine/audio/', join(projectRoot, 'dist', 'engine', 'audio')],
  ['/', join(projectRoot, 'web')],
];

/**
 * Serves the browser demo (`/`) and the client library (`/client/*.js` and its imports) for GET requests. Returns false
 * when the path is not one of its files, so the caller can answer 404.
 */
export async function serveStatic(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const root = ROOTS.find(([prefix]) => path.startsWith(prefix));
  if (!root) return false;
  const [prefix, dir] = root;
  const relative = path === '/' ? 'index.html' : path.slice(prefix.length);
  const file = normalize(join(dir, relative));
  const type = TYPES[extname(file)];
  if (!type || !file.startsWith(dir + sep)) return false;
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    return false;
  }
  res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
