/**
 * A streaming Ogg demuxer (RFC 3533): pages in any cut, checked by their CRC, out come the packets of the first
 * logical stream (others are skipped). Bounded: a page is at most 65,307 bytes by the format, a packet at most
 * `maxPacketBytes`, and nothing else is kept between calls.
 */
import { AudioDecodeError } from './errors.js';

const HEADER_BYTES = 27;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

function pageCrc(page: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < page.length; i++) {
    // The checksum field itself (bytes 22-25) counts as zeros.
    const byte = i >= 22 && i < 26 ? 0 : (page[i] as number);
    crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ byte) & 0xff] as number)) >>> 0;
  }
  return crc;
}

export class OggDemuxer {
  private buffer = new Uint8Array(0);
  private serial: number | null = null;
  /** Parts of a packet that continues on the next page. */
  private partial: Uint8Array[] = [];
  private partialBytes = 0;

  constructor(private readonly maxPacketBytes: number) {}

  /** The complete packets of the first logical stream in what has arrived so far, in order. */
  push(bytes: Uint8Array): Uint8Array[] {
    const data = this.buffer.length > 0 ? concat(this.buffer, bytes) : bytes;
    const packets: Uint8Array[] = [];
    let at = 0;
    while (data.length - at >= HEADER_BYTES) {
      if (
        data[at] !== 0x4f ||
        data[at + 1] !== 0x67 ||
        data[at + 2] !== 0x67 ||
        data[at + 3] !== 0x53 ||
        data[at + 4] !== 0
      ) {
        throw new AudioDecodeError(
          'bad_audio',
          'the Ogg stream lost its page sync (no "OggS" where a page should start)',
        );
      }
      const segments = data[at + 26] as number;
      if (data.length - at < HEADER_BYTES + segments) break;
      let bodyBytes = 0;
      for (let i = 0; i < segments; i++) bodyBytes += data[at + HEADER_BYTES + i] as number;
      const pageBytes = HEADER_BYTES + segments + bodyBytes;
      if (data.length - at < pageBytes) break;
      const page = data.subarray(at, at + pageBytes);
      at += pageBytes;
      const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
      if (view.getUint32(22, true) !== pageCrc(page))
        throw new AudioDecodeError('bad_audio', 'an Ogg page failed its checksum');
      const serial = view.getUint32(14, true);
      this.serial ??= serial;
      if (serial !== this.serial) continue;
      const continued = ((page[5] as number) & 1) !== 0;
      if (!continued && this.partial.length > 0)
        throw new AudioDecodeError('bad_audio', 'an Ogg packet was cut off by the next page');
      let offset = HEADER_BYTES + segments;
      let size = 0;
      for (let i = 0; i < segments; i++) {
        const lace = page[HEADER_BYTES + i] as number;
        size += lace;
        if (lace === 255) continue;
        packets.push(this.complete(page.subarray(offset, offset + size)));
        offset += size;
        size = 0;
      }
      if (size > 0) this.keep(page.subarray(offset, offset + size));
    }
    // A copy: what waits for the next call must not hold on to the (possibly large) message it came in.
    this.buffer = new Uint8Array(data.subarray(at));
    return packets;
  }

  private keep(part: Uint8Array): void {
    this.partialBytes += part.length;
    if (this.partialBytes > this.maxPacketBytes)
      throw new AudioDecodeError('bad_audio', `an Ogg packet longer than ${this.maxPacketBytes} bytes`);
    this.partial.push(new Uint8Array(part));
  }

  private complete(last: Uint8Array): Uint8Array {
    if (this.partial.length === 0) return new Uint8Array(last);
    this.keep(last);
    const packet = new Uint8Array(this.partialBytes);
    let at = 0;
    for (const part of this.partial) {
      packet.set(part, at);
      at += part.length;
    }
    this.partial = [];
    this.partialBytes = 0;
    return packet;
  }
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
