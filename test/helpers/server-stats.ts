/** Waits on the server's GET /stats: what a test can see of work that ends without telling any client. */

export interface ServerStats {
  sessions: { active: number; attached: number; detached: number };
  scheduler: { running: number; queuedFinals: number; queuedPartials: number; queuedUploads: number };
  uploads?: { inProgress: number };
}

/** Resolves once /stats satisfies `ready`; rejects after `timeoutMs`, naming `what` it waited for. */
export async function waitForStats(
  url: string,
  ready: (stats: ServerStats) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<ServerStats> {
  const deadline = performance.now() + timeoutMs;
  let last: ServerStats | null = null;
  while (performance.now() < deadline) {
    last = (await (await fetch(`${url}/stats`)).json()) as ServerStats;
    if (ready(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`waited ${timeoutMs} ms for ${what}; /stats last said ${JSON.stringify(last)}`);
}
