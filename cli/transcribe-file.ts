// `whisper-stream transcribe FILE`: streams a WAV file through the client library and prints the transcripts.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamClient, type ClosedEvent, type Transcript } from '../client/index.js';
import { WavFormatError, parseWav } from '../engine/audio/wav.js';
import { TO_WAV } from '../engine/commands.js';
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

/**
 * Streams a WAV file (16-bit PCM, any rate and channel count) through /stream and prints what comes back. A refused
 * or failed connection (at the start, or when a reconnect gives up) is thrown as the client's HandshakeError or
 * ConnectionError.
 */
export async function transcribeFile(path: string, options: TranscribeFileOptions): Promise<number> {
  let wav;
  try {
    wav = parseWav(readFileSync(path));
  } catch (error) {
    if (error instanceof WavFormatError) throw new Error(`${path}: ${error.message}; ${TO_WAV}`);
    throw error;
  }
  const client = new StreamClient(options.url, {
    sampleRate: wav.sampleRate,
    channels: wav.channels,
    ...(options.language ? { language: options.language } : {}),
    ...(options.token ? { token: options.token } : {}),
  });
  const printer = new TranscriptPrinter(options.json, process.stdout, process.stderr);
  client.on('partial', (m: Transcript) => printer.partial(m));
  client.on('final', (m: Transcript) => printer.final(m));
  client.on('error', (e) => printer.error(e.code, e.message));
  client.on('reconnecting', (r) => printer.note(`connection lost${r.error ? ` (${r.error.message})` : ''}; reconnecting (attempt ${r.attempt})`));
  let ended: ClosedEvent | undefined;
  client.on('closed', (event) => (ended = event));

  await client.connect();
  // Before any transcript: a one-off question to /readyz, answered at once or given up on after 2 s.
  const note = await syntheticModelNote(options.url);
  if (note) printer.note(note);
  const frame = Math.round((wav.sampleRate * CHUNK_MS) / 1000) * wav.channels;
  for (let offset = 0; offset < wav.samples.length && !ended; offset += frame) {
    client.send(wav.samples.subarray(offset, offset + frame));
    printer.progress(Math.min(1, (offset + frame) / wav.samples.length));
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
