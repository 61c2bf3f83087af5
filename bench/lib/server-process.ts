import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { projectRoot } from '../../engine/index.js';

/** Starts the real server (`dist/server/main.js`) on a free port in its own process and resolves once it is ready. */
export async function startServer(flags: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [join(projectRoot, 'dist/server/main.js'), '--port', '0', ...flags], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let port = 0;
  for await (const line of createInterface({ input: child.stdout })) {
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (entry['msg'] === 'listening') port = entry['port'] as number;
    if (entry['msg'] === 'ready') {
      // Nobody reads the logs from here on; an unread pipe would fill and stall the server's writes.
      child.stdout.resume();
      return { child, port };
    }
  }
  throw new Error('the server exited before it was ready');
}
