/**
 * Prints the sha256 hex of an API key, the form API_KEY_HASHES takes, so the key itself never goes into the
 * server's configuration. The key comes from the argument or, better (it stays out of shell history), from stdin.
 */
import { commandLine } from '../engine/commands.js';
import { hashApiKey } from '../server/auth/authenticator.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const key = process.argv[2] ?? (process.stdin.isTTY ? '' : await readStdin());
if (key === '' || key === '--help') {
  process.stderr.write(
    `Usage: ${commandLine('hashApiKey', '<key>')}   or   printf %s "$KEY" | ${commandLine('hashApiKey')}\n`,
  );
  process.exitCode = key === '--help' ? 0 : 2;
} else {
  process.stdout.write(`${hashApiKey(key)}\n`);
}
