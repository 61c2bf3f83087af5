// Example: stream a WAV file to a running server at real-time pace with the client library, printing partials and
// finals. A dropped connection is survived without any code here: the client reconnects, resumes the session,
// resends the audio the server had not acknowledged, and delivers every transcript once.
// Usage: node stream-with-resume.mjs [FILE.wav] [URL]
//   FILE.wav  16-bit PCM at any rate and channel count (default: fixtures/speech/jfk.wav, in the package too)
//   URL       the server's stream endpoint (default: $WHISPER_STREAM_URL, else ws://127.0.0.1:8080/stream)
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { StreamClient } from 'whisper-stream-server/client';
import { readWav } from 'whisper-stream-server/wav';

const file = process.argv[2] || fileURLToPath(new URL('../fixtures/speech/jfk.wav', import.meta.url));
const url = process.argv[3] || process.env.WHISPER_STREAM_URL || 'ws://127.0.0.1:8080/stream';
const CHUNK_MS = 100;

const wav = readWav(file);
// The client converts any rate and channel count to the 16 kHz mono the server takes.
const client = new StreamClient(url, { sampleRate: wav.sampleRate, channels: wav.channels });
const seconds = (ms) => (ms / 1000).toFixed(3);
client.on('session', (s) => console.log(`session ${s.sessionId} (${s.resumed ? 'resumed' : 'new'})`));
client.on('partial', (m) => console.log(`partial [${seconds(m.start_ms)} s - ${seconds(m.end_ms)} s] ${m.text}`));
client.on('final', (m) => console.log(`final   [${seconds(m.start_ms)} s - ${seconds(m.end_ms)} s] ${m.text}`));
client.on('reconnecting', (r) =>
  console.log(`connection lost: reconnecting in ${r.delayMs} ms (attempt ${r.attempt})`),
);
client.on('error', (e) => console.error(`server error ${e.code}: ${e.message}`));

await client.connect();
// Paced against the clock rather than by fixed sleeps, so timer lateness does not add up over a long file.
const frame = Math.round((wav.sampleRate * CHUNK_MS) / 1000) * wav.channels;
const started = Date.now();
for (let offset = 0, chunk = 0; offset < wav.samples.length; offset += frame, chunk++) {
  client.send(wav.samples.subarray(offset, offset + frame));
  await sleep(Math.max(0, started + (chunk + 1) * CHUNK_MS - Date.now()));
}
// Resolves once the server has sent the finals for everything and closed the session.
const closed = await client.end();
console.log(`closed ${closed.code}${closed.reason ? ` ${closed.reason}` : ''}`);
process.exitCode = closed.code === 1000 ? 0 : 1;
