/**
 * The encoded audio of fixtures/audio/ (scripts/make-audio-fixtures.sh), and how close decoded audio is to its
 * source.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from '../../engine/index.js';

export function audioFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(fixturesDir, 'audio', name)));
}

export function concatPcm(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Normalised correlation of two signals over their common length, at the best lag within `maxLag` samples (codecs
 * may delay the audio): 1 is the same waveform at any gain; lossy codecs that keep speech intelligible stay above 0.95.
 */
export function similarity(reference: Int16Array, decoded: Int16Array, maxLag = 160): number {
  let best = -1;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    const n = Math.min(reference.length, decoded.length) - Math.abs(lag);
    let dot = 0;
    let a = 0;
    let b = 0;
    for (let i = 0; i < n; i++) {
      const x = reference[i + Math.max(0, lag)] as number;
      const y = decoded[i + Math.max(0, -lag)] as number;
      dot += x * y;
      a += x * x;
      b += y * y;
    }
    if (a > 0 && b > 0) best = Math.max(best, dot / Math.sqrt(a * b));
  }
  return best;
}
