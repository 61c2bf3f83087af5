// `whisper-stream mic`: streams the default microphone, recorded by arecord or sox, through the client library.
import { spawn, spawnSync } from 'node:child_process';
import { StreamClient, type Transcript } from '../client/index.js';
import { syntheticModelNote } from './server-model.js';
import { TranscriptPrinter } from './transcript-printer.js';
import { EXIT } from './usage.js';

export interface MicrophoneOptions {
  url: string;
  language: string | undefined;
  token: string | undefined;
  json: boolean;
}

/** Neither recorder is installed, or the one that ran failed. */
export class RecorderError extends Error {
  override readonly name = 'RecorderError';
}

/** Recorders that can write raw 16 kHz mono s16le to stdout, in order of preference. */
const RECORDERS: { command: string; args: string[] }[] = [
  { command: 'arecord', args: ['-q', '-f', 'S16_LE', '-r', '16000', '-c', '1', '-t', 'raw'] },
  {
    command: 'sox',
    args: ['-q', '-d', '-t', 'raw', '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-'],
  },
];

/** The recorder's stderr kept for the failure message: its last lines say what went wrong. */
const STDERR_TAIL_BYTES = 4096;

const available = (command: string): boolean =>
  spawnSync(command, ['--version'], { stdio: 'ignore' }).error === undefined;

type RecorderExit = { code: number | null; signal: NodeJS.Signals | null } | { error: Error };

/**
 * Streams the default microphone until Ctrl-C, then finalizes. Throws RecorderError when no recorder is installed
 * or the recorder exits with an error (its last stderr line in the message), and the client's HandshakeError or
 * ConnectionError when the server cannot be reached or refuses.
 */
export async function streamMicrophone(options: MicrophoneOptions): Promise<number> {
  const recorder = RECORDERS.find((r) => available(r.command));
  if (!recorder) {
    throw new RecorderError(
      'mic needs arecord (Debian: apt-get install alsa-utils) or sox (apt-get install sox) to read the ' +
        'microphone; neither was found',
    );
  }
  const client = new StreamClient(options.url, {
    ...(options.language ? { language: options.language } : {}),
    ...(options.token ? { token: options.token } : {}),
  });
  const printer = new TranscriptPrinter(options.json, process.stdout, process.stderr);
  client.on('partial', (m: Transcript) => printer.partial(m));
  client.on('final', (m: Transcript) => printer.final(m));
  client.on('error', (e) => printer.error(e.code, e.message));
  await client.connect();
  const note = await syntheticModelNote(options.url);
  if (note) printer.note(note);
  printer.note(`listening through ${recorder.command}; Ctrl-C to stop`);

  const child = spawn(recorder.command, recorder.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // A recorder stopped on purpose (Ctrl-C, or the client gave up) may exit non-zero without having failed.
  let stopping = false;
  const stop = (): void => {
    stopping = true;
    child.kill('SIGINT');
  };
  process.once('SIGINT', stop);
  client.on('closed', stop);
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-STDERR_TAIL_BYTES);
  });
  let carry: Buffer = Buffer.alloc(0);
  child.stdout.on('data', (data: Buffer) => {
    // Keep an odd trailing byte for the next read, so every frame holds whole samples.
    const bytes = carry.length > 0 ? Buffer.concat([carry, data]) : data;
    const even = bytes.length - (bytes.length % 2);
    carry = bytes.subarray(even);
    const samples = new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + even));
    if (samples.length > 0) client.send(samples);
  });
  const exit = await new Promise<RecorderExit>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ error }));
  });
  process.off('SIGINT', stop);
  const failure = stopping ? undefined : recorderFailure(recorder.command, exit, stderr);
  const closed = await client.end();
  printer.done();
  if (failure) throw failure;
  if (closed.error) throw closed.error;
  return closed.code === 1000 ? EXIT.ok : EXIT.failed;
}

function recorderFailure(command: string, exit: RecorderExit, stderr: string): RecorderError | undefined {
  if ('error' in exit) return new RecorderError(`the recorder failed: ${command}: ${exit.error.message}`);
  // Ctrl-C in a terminal reaches the recorder too, maybe before this process handles it.
  if (exit.code === 0 || exit.signal === 'SIGINT' || exit.signal === 'SIGTERM') return undefined;
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const line = stderr.trim().split('\n').at(-1)?.trim();
  return new RecorderError(`the recorder failed: ${command} ${how}${line ? `: ${line}` : ''}`);
}
