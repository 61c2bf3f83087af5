/** A throwaway self-signed certificate for localhost and 127.0.0.1, made with openssl, for tests of wss:// and https://. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface SelfSigned {
  certFile: string;
  keyFile: string;
  /** The certificate itself, for a client's `ca`. */
  cert: Buffer;
  remove(): Promise<void>;
}

export async function selfSigned(): Promise<SelfSigned> {
  const dir = await mkdtemp(join(tmpdir(), 'wss-cert-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  return { certFile, keyFile, cert: await readFile(certFile), remove: () => rm(dir, { recursive: true, force: true }) };
}
