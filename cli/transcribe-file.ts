// `whisper-stream transcribe FILE`: decodes an audio file, streams it through the client library and prints the
// transcripts.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamClient, type ClosedEvent, type Transcript } from '../client/index.js';
import { TARGET_RATE } from '../engine/audio/resampler.js';
import { AudioDecodeError } from '../engine/codecs/errors.js';
import { decodeAudioFile } from '../engine/codecs/file-decoder.js';
import { syntheticModelNote } from './server-model.js';
import { TranscriptPrinter } from './transcript-printer.js';
import { EXIT } from './usage.js';

export interface TranscribeFileOptions {
  url: string;
  language: string | undefined;
  token: string | undefined;
  /** Send as fast as the socket takes it instead of at real-time pace. */
  fast: boolean;
  json: boolean;
}

const CHUNK_MS = 100;
/** What the CLI decodes: any file a person would stream, up to a day of it. */
const FILE_LIMITS = { maxSeconds: 86_400, minRate: 8000, maxRate: 192_000, maxChannels: 8 };

/**
 * Decodes an audio file (engine/codecs/file-decoder.ts: WAV, MP3, FLAC, Ogg, WebM) to 16 kHz mono and streams it
 * through /stream, printing what comes back. A file it cannot read throws AudioDecodeError. A refused
 * or failed connection (at the start, or when a reconnect gives up) is thrown as the client's HandshakeError or
 * ConnectionError.
 */
export async function transcribeFile(path: string, options: TranscribeFileOptions): Promise<number> {
  let pcm: Int16Array;
  try {
    ({ pcm } = await decodeAudioFile(readFileSync(path), FILE_LIMITS));
  } catch (error) {
    if (error instanceof AudioDecodeError) throw new Error(`${path}: ${error.message}`);
    throw error;
  }
  const client = new StreamClient(options.url, {
    ...(options.language ? { language: options.language } : {}),
    ...(options.token ? { token: options.token } : {}),
  });
  const printer = new TranscriptPrinter(options.json, process.stdout, process.stderr);
  client.on('partial', (m: Transcript) => printer.partial(m));
  client.on('final', (m: Transcript) => printer.final(m));
  client.on('error', (e) => printer.error(e.code, e.message));
  client.on('reconnecting', (r) =>
    printer.note(`connection lost${r.error ? ` (${r.error.message})` : ''}; reconnecting (attempt ${r.attempt})`),
  );
  let ended: ClosedEvent | undefined;
  client.on('closed', (event) => (ended = event));

  await client.connect();
  // Before any transcript: a one-off question to /readyz, answered at once or given up on after 2 s.
  const note = await syntheticModelNote(options.url);
  if (note) printer.note(note);
  const frame = (TARGET_RATE * CHUNK_MS) / 1000;
  for (let offset = 0; offset < pcm.length && !ended; offset += frame) {
    client.send(pcm.subarray(offset, offset + frame));
    printer.progress(Math.min(1, (offset + frame) / pcm.length));
    if (!options.fast) await sleep(CHUNK_MS);
  }
  const closed = await client.end();
  printer.done();
  if (closed.error) throw closed.error;
  if (closed.code !== 1000) {
    printer.note(`the server closed the stream with ${closed.code} ${closed.reason}`);
    return EXIT.failed;
  }
  return EXIT.ok;
}
