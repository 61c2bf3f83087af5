/**
 * Warms a fresh server up before an attack whose memory is judged: the first transcriptions on each worker allocate
 * its inference state (tens of MB of RSS that stay), which would otherwise be counted against the attack.
 */
import { join } from 'node:path';
import { fixturesDir, readWav16kMono } from '../../engine/index.js';
import type { ServerUnderTest } from './attack-server.js';
import { StreamClient } from './raw-stream-client.js';

/** Two sessions at once (one per worker of a 2-core server), each 4 s of speech at 4× real time, to their finals. */
export async function warmUp(server: ServerUnderTest): Promise<void> {
  const speech = readWav16kMono(join(fixturesDir, 'speech', 'jfk.wav')).subarray(16000 * 3, 16000 * 7);
  await Promise.all(
    [0, 1].map(async () => {
      const client = await StreamClient.connect(server.ws('/stream'));
      client.ws.on('error', () => undefined);
      await client.stream(speech, { speed: 4, frameMs: 100 });
      await Promise.race([client.end(), new Promise((resolve) => setTimeout(resolve, 30_000))]);
      client.ws.terminate();
    }),
  );
}
