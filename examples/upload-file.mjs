// Example: transcribe a WAV file through the server's OpenAI-compatible endpoint with plain fetch and FormData.
// Usage: node upload-file.mjs [FILE.wav] [URL]
//   FILE.wav  16-bit PCM at any rate (default: fixtures/speech/jfk.wav, in the package too)
//   URL       the endpoint (default: http://127.0.0.1:8080/v1/audio/transcriptions)
// Add an `Authorization: Bearer <key>` header when the server has API keys or JWTs configured.
import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const file = process.argv[2] || fileURLToPath(new URL('../fixtures/speech/jfk.wav', import.meta.url));
const url = process.argv[3] || 'http://127.0.0.1:8080/v1/audio/transcriptions';

const form = new FormData();
form.append('file', await openAsBlob(file, { type: 'audio/wav' }), basename(file));
form.append('model', 'whisper-1'); // accepted for compatibility; the server uses its own model
form.append('language', 'en');
form.append('response_format', 'verbose_json'); // segments with times; 'json' gives only the text

const response = await fetch(url, { method: 'POST', body: form });
const body = await response.json();
if (!response.ok) {
  console.error(`HTTP ${response.status}: ${body.error?.message ?? JSON.stringify(body)}`);
  process.exit(1);
}
for (const segment of body.segments) {
  console.log(`[${segment.start.toFixed(2)} s - ${segment.end.toFixed(2)} s] ${segment.text.trim()}`);
}
console.log(`text: ${body.text.trim()}`);
console.log(`duration: ${body.duration} s, language: ${body.language}`);
