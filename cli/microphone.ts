import { spawn, spawnSync } from 'node:child_process';
import { StreamClient, type Transcript } from '../client/index.js';
import { TranscriptPrinter } from './transcript-printer.js';

export interface MicrophoneOptions {
  url: string;
  language: string | undefined;
  token: string | undefined;
  json: boolean;
}

/** Recorders that can write raw 16 kHz mono s16le to stdout, in order of preference. */
const RECORDERS: { command: string; args: string[] }[] = [
  { command: 'arecord', args: ['-q', '-f', 'S16_LE', '-r', '16000', '-c', '1', '-t', 'raw'] },
  { command: 'sox', args: ['-q', '-d', '-t', 'raw', '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-'] },
];

const available = (command: string): boolean => spawnSync(command, ['--version'], { stdio: 'ignore' }).error === undefined;

/** Streams the default microphone until Ctrl-C, then finalizes. */
export async function streamMicrophone(options: MicrophoneOptions): Promise<number> {
  const recorder = RECORDERS.find((r) => available(r.command));
  if (!recorder) {
    process.stderr.write(
      'mic needs arecord (Debian: apt-get install alsa-utils) or sox (apt-get install sox) to read the microphone; neither was found.\n',
    );
    return 1;
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
  printer.note(`listening through ${recorder.command}; Ctrl-C to stop`);

  const child = spawn(recorder.command, recorder.args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let carry: Buffer = Buffer.alloc(0);
  child.stdout.on('data', (data: Buffer) => {
    // Keep an odd trailing byte for the next read, so every frame holds whole samples.
    const bytes = carry.length > 0 ? Buffer.concat([carry, data]) : data;
    const even = bytes.length - (bytes.length % 2);
    carry = bytes.subarray(even);
    const samples = new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + even));
    if (samples.length > 0) client.send(samples);
  });
  process.once('SIGINT', () => child.kill('SIGINT'));
  await new Promise((resolve) => child.once('close', resolve));
  const closed = await client.end();
  printer.done();
  return closed.code === 1000 ? 0 : 1;
}
