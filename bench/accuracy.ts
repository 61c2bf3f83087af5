// Accuracy bench (npm run bench:accuracy): word error rate of offline whole-file transcription and of the streaming
// finals against the reference transcripts in fixtures/speech, for every real Whisper model in models/.
import { existsSync } from 'node:fs';
import { basename, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { modelsDir, projectRoot, resolveModelPath, type ResolvedModel } from '../engine/index.js';
import { CLIP_NAMES, SPEECH_DIR, loadClips, type Clip } from './lib/accuracy-clips.js';
import { formatReport, type AccuracyReport, type ModelAccuracy } from './lib/accuracy-report.js';
import { scoreMode } from './lib/accuracy-score.js';
import { OFFLINE_DECODE, offlineTranscripts } from './lib/offline-transcripts.js';
import { findRealModels } from './lib/real-models.js';
import { streamingTranscripts } from './lib/streaming-transcripts.js';
import { machineInfo } from './lib/machine.js';

const USAGE = `Usage: node dist/bench/accuracy.js [options]   (npm run bench:accuracy -- [options])

Word error rate (Whisper's English normalisation) of (a) offline whole-file transcription and (b) the streaming
finals, for every real Whisper model in models/ (ggml-*.bin, not *-synthetic.bin, not ggml-silero-*).

  --model PATH       measure this model file whatever its name (repeatable, or comma-separated)
  --models-dir DIR   look for real models here instead of ${relative(process.cwd(), modelsDir) || '.'}
  --clips A,B        clips of fixtures/speech to use (default: ${CLIP_NAMES.join(',')})
  --speed N          stream N times faster than real time (default 1)
  --json             print one JSON object instead of the tables
`;

const NORMALIZER =
  "Whisper's EnglishTextNormalizer rules (own TypeScript implementation, bench/lib/english-normalizer.ts)";

interface Options {
  models: ResolvedModel[];
  modelsDir: string;
  clips: Clip[];
  speed: number;
  json: boolean;
}

class UsageError extends Error {}

const FLAGS = {
  model: { type: 'string', multiple: true },
  'models-dir': { type: 'string' },
  clips: { type: 'string' },
  speed: { type: 'string', default: '1' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function readFlags() {
  try {
    return parseArgs({ options: FLAGS }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The command line's options, or 'help'; throws UsageError for anything it cannot use. */
function parseOptions(): Options | 'help' {
  const values = readFlags();
  if (values.help) return 'help';
  const speed = Number(values.speed);
  if (!(speed > 0 && Number.isFinite(speed)))
    throw new UsageError(`--speed must be a positive number, got '${values.speed}'`);
  const clipNames = values.clips?.split(',') ?? CLIP_NAMES;
  const unknownClips = clipNames.filter((name) => !CLIP_NAMES.includes(name));
  if (unknownClips.length > 0)
    throw new UsageError(`unknown clip ${unknownClips.join(', ')}; the clips are ${CLIP_NAMES.join(', ')}`);
  const dir = values['models-dir'] ?? modelsDir;
  const given = (values.model ?? []).flatMap((list) => list.split(',')).filter((path) => path !== '');
  const missing = given.filter((path) => !existsSync(path));
  if (missing.length > 0) throw new UsageError(`no such model file: ${missing.join(', ')}`);
  const paths = given.length > 0 ? given : findRealModels(dir);
  return {
    models: paths.map((path) => resolveModelPath(path)),
    modelsDir: dir,
    clips: loadClips(clipNames),
    speed,
    json: values.json,
  };
}

async function measure(model: ResolvedModel, clips: Clip[], speed: number): Promise<ModelAccuracy> {
  const name = basename(model.path);
  process.stderr.write(`bench:accuracy: ${name}: (a) offline, ${clips.length} clip(s)\n`);
  const offline = await offlineTranscripts(model.path, clips);
  process.stderr.write(`bench:accuracy: ${name}: (b) streaming at ${speed}x real time\n`);
  const streamed = await streamingTranscripts(model.path, clips, speed);
  return {
    path: model.path,
    synthetic: model.synthetic,
    offline: scoreMode(OFFLINE_DECODE, clips, offline),
    streaming: {
      ...scoreMode(
        streamed.decode,
        clips,
        streamed.transcripts.map((t) => t.text),
      ),
      serverErrors: streamed.transcripts.flatMap((t, i) => t.errors.map((e) => `${clips[i]?.name}: ${e}`)),
    },
  };
}

async function main(): Promise<number> {
  let options: Options | 'help';
  try {
    options = parseOptions();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench:accuracy: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (options.models.length === 0) {
    console.log(
      `bench:accuracy: NO REAL WHISPER MODEL in ${options.modelsDir} (synthetic stand-ins do not count): ` +
        'run npm run models:fetch -- tiny.en to get one; nothing measured',
    );
    return 0;
  }

  const models: ModelAccuracy[] = [];
  for (const model of options.models) models.push(await measure(model, options.clips, options.speed));
  const report: AccuracyReport = {
    command: `node dist/bench/accuracy.js ${process.argv.slice(2).join(' ')}`.trim(),
    machine: machineInfo(),
    normalizer: NORMALIZER,
    corpus: {
      dir: relative(projectRoot, SPEECH_DIR),
      clips: options.clips.map((c) => ({
        name: c.name,
        source: c.source,
        seconds: Math.round(c.seconds * 100) / 100,
        reference: c.reference,
      })),
    },
    models,
  };
  console.log(options.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return 0;
}

process.exitCode = await main();
