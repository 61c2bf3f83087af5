/**
 * A self-signed certificate for localhost and 127.0.0.1, for tests of wss:// and https://: the test-only pair in
 * fixtures/tls (see its README), so the suite needs no openssl program.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fixturesDir } from '../../engine/index.js';

export interface SelfSigned {
  certFile: string;
  keyFile: string;
  /** The certificate itself, for a client's `ca`. */
  cert: Buffer;
  /** Nothing to remove: the files are the repository's. Kept for the tests that call it. */
  remove(): Promise<void>;
}

export async function selfSigned(): Promise<SelfSigned> {
  const certFile = join(fixturesDir, 'tls', 'localhost-cert.pem');
  const keyFile = join(fixturesDir, 'tls', 'localhost-key.pem');
  return { certFile, keyFile, cert: await readFile(certFile), remove: () => Promise.resolve() };
}
