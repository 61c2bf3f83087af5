/**
 * A streaming WebM (Matroska) demuxer for audio: what MediaRecorder makes, with Segment and Cluster of unknown size,
 * cut anywhere. It reads element headers as a flat sequence (Matroska's IDs are unique across levels), steps into
 * the few master elements that hold what it needs, parses Tracks, and hands out the frames of the first audio track.
 * Bounded: Tracks and blocks are kept whole only up to fixed sizes; everything else is skipped without being kept.
 */
import { AudioDecodeError } from './errors.js';
import { concat } from './ogg.js';

const ID = {
  ebml: 0x1a45dfa3,
  segment: 0x18538067,
  cluster: 0x1f43b675,
  blockGroup: 0xa0,
  block: 0xa1,
  simpleBlock: 0xa3,
  tracks: 0x1654ae6b,
  trackEntry: 0xae,
  trackNumber: 0xd7,
  trackType: 0x83,
  codecId: 0x86,
  codecPrivate: 0x63a2,
  audio: 0xe1,
  channels: 0x9f,
} as const;

/** Master elements read as a sequence of their children (their own size may be unknown, as in live recordings). */
const DESCEND = new Set<number>([ID.segment, ID.cluster, ID.blockGroup]);
const MAX_TRACKS_BYTES = 64 * 1024;
const MAX_BLOCK_BYTES = 64 * 1024;
const AUDIO_TRACK = 2;

export interface WebmAudioTrack {
  number: number;
  /** Matroska's codec ID, e.g. A_OPUS. */
  codec: string;
  codecPrivate: Uint8Array | null;
  channels: number;
}

export interface WebmChunk {
  /** Set by the call that read the Tracks element. */
  track: WebmAudioTrack | null;
  frames: Uint8Array[];
}

interface Vint {
  value: number;
  length: number;
  /** All value bits set: the size is unknown. */
  unknown: boolean;
}

/** An EBML variable-length integer at `at`, or null when `data` ends first. `keepMarker` for element IDs. */
function vint(data: Uint8Array, at: number, keepMarker: boolean, maxLength: number): Vint | null {
  if (at >= data.length) return null;
  const first = data[at] as number;
  let length = 1;
  while (length <= 8 && (first & (0x80 >> (length - 1))) === 0) length++;
  if (length > maxLength) throw new AudioDecodeError('bad_audio', 'the WebM stream has a malformed element header');
  if (at + length > data.length) return null;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    const byte = data[at + i] as number;
    value = value * 256 + byte;
    if (byte !== 0xff) allOnes = false;
  }
  return { value, length, unknown: !keepMarker && allOnes };
}

function uint(bytes: Uint8Array): number {
  let value = 0;
  for (const byte of bytes) value = value * 256 + byte;
  return value;
}

/** The children of a master element whose content is all here. */
function* children(data: Uint8Array): Generator<{ id: number; body: Uint8Array }> {
  let at = 0;
  while (at < data.length) {
    const id = vint(data, at, true, 4);
    const size = id && vint(data, at + id.length, false, 8);
    if (!id || !size || size.unknown) throw new AudioDecodeError('bad_audio', 'the WebM Tracks element is malformed');
    const start = at + id.length + size.length;
    if (start + size.value > data.length)
      throw new AudioDecodeError('bad_audio', 'the WebM Tracks element is truncated');
    yield { id: id.value, body: data.subarray(start, start + size.value) };
    at = start + size.value;
  }
}

function parseTracks(tracks: Uint8Array): WebmAudioTrack {
  for (const entry of children(tracks)) {
    if (entry.id !== ID.trackEntry) continue;
    const track: WebmAudioTrack = { number: 0, codec: '', codecPrivate: null, channels: 1 };
    let type = 0;
    for (const field of children(entry.body)) {
      if (field.id === ID.trackNumber) track.number = uint(field.body);
      else if (field.id === ID.trackType) type = uint(field.body);
      else if (field.id === ID.codecId) track.codec = String.fromCharCode(...field.body.subarray(0, 32));
      else if (field.id === ID.codecPrivate) track.codecPrivate = new Uint8Array(field.body);
      else if (field.id === ID.audio) {
        for (const setting of children(field.body)) if (setting.id === ID.channels) track.channels = uint(setting.body);
      }
    }
    if (type === AUDIO_TRACK) return track;
  }
  throw new AudioDecodeError('bad_audio', 'the WebM stream has no audio track');
}

export class WebmDemuxer {
  private buffer = new Uint8Array(0);
  /** Bytes of a skipped element still to come. */
  private skipping = 0;
  private track: WebmAudioTrack | null = null;
  private started = false;

  push(bytes: Uint8Array): WebmChunk {
    let data = bytes;
    if (this.skipping > 0) {
      const skipped = Math.min(this.skipping, data.length);
      this.skipping -= skipped;
      data = data.subarray(skipped);
    }
    if (this.buffer.length > 0) data = concat(this.buffer, data);
    const chunk: WebmChunk = { track: null, frames: [] };
    let at = 0;
    for (;;) {
      const id = vint(data, at, true, 4);
      const size = id && vint(data, at + id.length, false, 8);
      if (!id || !size) break;
      if (!this.started && id.value !== ID.ebml)
        throw new AudioDecodeError('bad_audio', 'not a WebM stream (no EBML header)');
      this.started = true;
      const start = at + id.length + size.length;
      if (DESCEND.has(id.value)) {
        at = start;
        continue;
      }
      if (size.unknown)
        throw new AudioDecodeError('bad_audio', 'the WebM stream has an element of unknown size that cannot have one');
      const kept =
        id.value === ID.tracks
          ? MAX_TRACKS_BYTES
          : id.value === ID.simpleBlock || id.value === ID.block
            ? MAX_BLOCK_BYTES
            : 0;
      if (kept === 0) {
        // Skipped whole, here or across the next calls.
        const here = Math.min(size.value, data.length - start);
        this.skipping = size.value - here;
        at = start + here;
        continue;
      }
      if (size.value > kept)
        throw new AudioDecodeError('bad_audio', `a WebM element of ${size.value} bytes; at most ${kept} are taken`);
      if (start + size.value > data.length) break;
      const body = data.subarray(start, start + size.value);
      at = start + size.value;
      if (id.value === ID.tracks) {
        if (this.track) throw new AudioDecodeError('bad_audio', 'the WebM stream has a second Tracks element');
        this.track = parseTracks(body);
        chunk.track = this.track;
      } else {
        const frame = this.frame(body);
        if (frame) chunk.frames.push(frame);
      }
    }
    // A copy: what waits for the next call must not hold on to the (possibly large) message it came in.
    this.buffer = new Uint8Array(data.subarray(at));
    return chunk;
  }

  /** A block's frame when it belongs to the audio track. */
  private frame(block: Uint8Array): Uint8Array | null {
    const track = vint(block, 0, false, 8);
    if (!track || block.length < track.length + 3) throw new AudioDecodeError('bad_audio', 'a truncated WebM block');
    if (!this.track) throw new AudioDecodeError('bad_audio', 'a WebM block before the Tracks element');
    if (track.value !== this.track.number) return null;
    const flags = block[track.length + 2] as number;
    if ((flags & 0x06) !== 0)
      throw new AudioDecodeError('unsupported_audio', 'WebM blocks with lacing are not supported');
    return new Uint8Array(block.subarray(track.length + 3));
  }
}
