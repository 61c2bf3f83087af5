// Accuracy run (b): each clip streamed to the real server in this process, paced like a live source, through the
// client library; the transcript is the session's finals in order.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamClient } from '../../client/index.js';
import { DEFAULT_VAD_FILE, modelsDir, projectRoot } from '../../engine/index.js';
import { startApp } from '../../server/app.js';
import { loadConfig, type ServerConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import type { Clip } from './accuracy-clips.js';

const FRAME_MS = 100;

export interface StreamedTranscript {
  /** The finals' texts joined with spaces. */
  text: string;
  /** Error events the server sent during the session, as "code: message". */
  errors: string[];
}

export interface StreamingRun {
  /** How the server decoded, for the report. */
  decode: string;
  transcripts: StreamedTranscript[];
}

/** The Silero model the server needs: models/ when it is there, else the copy bundled in engine/assets. */
function vadModelPath(): string {
  const installed = join(modelsDir, DEFAULT_VAD_FILE);
  return existsSync(installed) ? installed : join(projectRoot, 'engine', 'assets', DEFAULT_VAD_FILE);
}

/**
 * Sends `pcm` in FRAME_MS frames, each due at its audio time divided by `speed`, so a late frame does not delay the
 * rest.
 */
async function sendPaced(client: StreamClient, pcm: Int16Array, speed: number): Promise<void> {
  const frame = (16000 * FRAME_MS) / 1000;
  const started = performance.now();
  for (let i = 0; i * frame < pcm.length; i++) {
    const wait = started + (i * FRAME_MS) / speed - performance.now();
    if (wait > 0) await sleep(wait);
    client.send(pcm.subarray(i * frame, (i + 1) * frame));
  }
}

async function streamClip(url: string, clip: Clip, speed: number): Promise<StreamedTranscript> {
  const client = new StreamClient(url, { language: 'en', frameMs: FRAME_MS });
  const finals: string[] = [];
  const errors: string[] = [];
  client.on('final', (t) => finals.push(t.text));
  client.on('error', (e) => errors.push(`${e.code}: ${e.message}`));
  await client.connect();
  await sendPaced(client, clip.pcm, speed);
  const closed = await client.end();
  // Anything but a normal close means finals may be missing: the figure would be wrong, not just worse.
  if (closed.code !== 1000)
    throw new Error(`streaming ${clip.name}: the session closed with ${closed.code} ${closed.reason}`);
  return { text: finals.map((text) => text.trim()).join(' '), errors };
}

/**
 * Starts the server on an ephemeral port with `modelPath` and its default settings, streams each clip in turn, stops
 * it.
 */
export async function streamingTranscripts(
  modelPath: string,
  clips: readonly Clip[],
  speed: number,
): Promise<StreamingRun> {
  const config = loadConfig([], {
    PORT: '0',
    HOST: '127.0.0.1',
    WHISPER_MODEL: modelPath,
    VAD_MODEL: vadModelPath(),
    LOG_LEVEL: 'error',
  });
  if (config === 'help') throw new Error('unreachable: no --help given');
  // stdout carries the report (or the JSON), so the server's log goes to stderr
  const app = await startApp(
    config,
    createLogger('error', (line) => process.stderr.write(line)),
  );
  try {
    const transcripts: StreamedTranscript[] = [];
    for (const clip of clips) transcripts.push(await streamClip(app.streamUrl, clip, speed));
    return { decode: streamingDecode(config, speed), transcripts };
  } finally {
    await app.close();
  }
}

function streamingDecode(config: ServerConfig, speed: number): string {
  return (
    `server defaults: finals beam search with ${config.finalBeamSize} beams prompted with the previous final ` +
    `(partials greedy), Silero VAD, end of utterance after ${config.endSilenceMs} ms silence; ` +
    `${FRAME_MS} ms frames at ${speed}x real time`
  );
}
