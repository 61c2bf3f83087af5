// Load on the OpenAI-compatible endpoint: autocannon POSTs jfk.wav (11 s) to /v1/audio/transcriptions from 1, 2 and 4
// concurrent connections against a fresh server process, and reports latency percentiles and throughput.
// Usage: node dist/bench/transcriptions-http.js [--connections 1,2,4] [--requests N]   (npm run bench:http)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { fixturesDir } from '../engine/index.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { startServer } from './lib/server-process.js';

const { values } = parseArgs({
  options: { connections: { type: 'string', default: '1,2,4' }, requests: { type: 'string', default: '12' } },
});
const steps = values.connections.split(',').map(Number);
const requests = Number(values.requests);

const boundary = 'bench-boundary';
const wav = readFileSync(join(fixturesDir, 'speech', 'jfk.wav'));
const body = Buffer.concat([
  Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n`),
  Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="jfk.wav"\r\nContent-Type: ` +
      'audio/wav\r\n\r\n',
  ),
  wav,
  Buffer.from(`\r\n--${boundary}--\r\n`),
]);

const { child, port } = await startServer([]);
console.log(`machine: ${describeMachine(machineInfo())}`);
console.log(`POST /v1/audio/transcriptions with jfk.wav (11 s), ${requests} requests per step, server defaults\n`);
console.log(
  '| connections | requests | p50 ms | p90 ms | p97.5 ms | p99 ms | max ms | req/s | audio s per s | non-2xx |',
);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
try {
  for (const connections of steps) {
    const result = await autocannon({
      url: `http://127.0.0.1:${port}/v1/audio/transcriptions`,
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
      connections,
      amount: requests,
      timeout: 120,
    });
    const seconds = result.duration;
    const rate = result.requests.total / seconds;
    console.log(
      `| ${connections} | ${result.requests.total} | ${result.latency.p50} | ${result.latency.p90} | ` +
        `${result.latency.p97_5} | ${result.latency.p99} | ${result.latency.max} | ${rate.toFixed(2)} | ` +
        `${(rate * 11).toFixed(1)} | ${result.non2xx} |`,
    );
  }
} finally {
  child.kill('SIGTERM');
}
