// Example: transcribe a WAV file with the engine as a library, no server involved.
// Usage: node transcribe-file.mjs [FILE.wav]
//   FILE.wav  16 kHz mono 16-bit PCM (default: fixtures/speech/jfk.wav, in the package too)
// The model is models/ggml-tiny.en.bin inside the package (npx whisper-stream models fetch tiny.en), else its
// synthetic stand-in, or whatever WHISPER_MODEL names.
import { fileURLToPath } from 'node:url';
import { WhisperModel, readWav16kMono } from 'whisper-stream-server';

const file = process.argv[2] || fileURLToPath(new URL('../fixtures/speech/jfk.wav', import.meta.url));
const audio = readWav16kMono(file);

const model = new WhisperModel();
try {
  const result = await model.transcribe(audio, { language: 'en' });
  console.log(`model: ${model.path}`);
  for (const segment of result.segments) {
    console.log(
      `[${(segment.startMs / 1000).toFixed(2)} s - ${(segment.endMs / 1000).toFixed(2)} s] ${segment.text.trim()}`,
    );
  }
  console.log(`text: ${result.text.trim()}`);
  console.log(`took ${result.timings.totalMs.toFixed(0)} ms (encoder ${result.timings.encodeMs.toFixed(0)} ms)`);
} finally {
  model.free();
}
