/** Piscina task: decodes an uploaded WAV file to 16 kHz mono PCM, off the event loop (long files cost seconds). */
import { parseWav, Resampler } from '../engine/index.js';

export function decode(file: Uint8Array): Int16Array {
  const wav = parseWav(file);
  if (wav.sampleRate === 16000 && wav.channels === 1) return wav.samples;
  return new Resampler(wav.sampleRate, wav.channels).process(wav.samples);
}
