/**
 * What parsing a JSON text costs beyond its bytes, counted before it is parsed: its structural characters. A valid
 * object of 90,000 keys parses far slower than a string of the same size (base64 audio has none of them).
 */
const STRUCTURE = ['{', '[', ':', ','].map((c) => c.charCodeAt(0));

/** Whether `text` holds more than `limit` of `{ [ : ,` (in strings too); stops counting past the limit. */
export function exceedsStructure(text: Uint8Array, limit: number): boolean {
  const buffer = Buffer.from(text.buffer, text.byteOffset, text.byteLength);
  let count = 0;
  for (const byte of STRUCTURE) {
    for (let at = buffer.indexOf(byte); at >= 0; at = buffer.indexOf(byte, at + 1)) {
      if (++count > limit) return true;
    }
  }
  return false;
}
