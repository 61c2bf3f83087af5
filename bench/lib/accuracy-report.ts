// The accuracy bench's results, and their readable form: machine, corpus, model and decode mode next to the figures.
import { basename } from 'node:path';
import { describeMachine, type MachineInfo } from './machine.js';
import type { ClipScore, ModeScore } from './accuracy-score.js';
import type { WordErrors } from './wer.js';

export interface ModelAccuracy {
  path: string;
  /** A generated stand-in: its text is nonsense by design, so its WER says nothing about accuracy. */
  synthetic: boolean;
  offline: ModeScore;
  streaming: ModeScore & { serverErrors: string[] };
}

export interface AccuracyReport {
  command: string;
  machine: MachineInfo;
  normalizer: string;
  corpus: { dir: string; clips: { name: string; source: string; seconds: number; reference: string }[] };
  models: ModelAccuracy[];
}

/** Normalised transcripts longer than this are cut in the table's listing (the JSON has them whole). */
const SHOWN_CHARS = 160;

const percent = (wer: number | null): string => (wer === null ? 'n/a' : `${(wer * 100).toFixed(1)}%`);
const counts = (e: WordErrors): string => `${e.substitutions} / ${e.deletions} / ${e.insertions}`;
const cut = (text: string): string => (text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS)}...` : text);

function clipRow(offline: ClipScore, streaming: ClipScore | undefined): string {
  const streamed = streaming ? `${counts(streaming)} | ${percent(streaming.wer)}` : '- | -';
  return `| ${offline.clip} | ${offline.referenceWords} | ${counts(offline)} | ${percent(offline.wer)} | ${streamed} |`;
}

function modelSection(m: ModelAccuracy): string[] {
  const { offline, streaming } = m;
  const label = m.synthetic
    ? ' (SYNTHETIC STAND-IN: nonsense text by design, so this WER measures nothing but the pipeline)'
    : '';
  const listing = offline.clips.flatMap((o, i) => [
    `  ${o.clip}`,
    `    reference: ${o.normalizedReference}`,
    `    offline:   ${cut(o.normalizedHypothesis)}`,
    `    streaming: ${cut(streaming.clips[i]?.normalizedHypothesis ?? '')}`,
  ]);
  return [
    `model: ${m.path}${label}`,
    `  (a) offline: ${offline.decode}`,
    `  (b) streaming: ${streaming.decode}`,
    ...(streaming.serverErrors.length > 0
      ? [`  server error events while streaming: ${streaming.serverErrors.join('; ')}`]
      : []),
    '',
    '| clip | ref words | (a) offline S / D / I | (a) offline WER | (b) streaming S / D / I | (b) streaming WER |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...offline.clips.map((o, i) => clipRow(o, streaming.clips[i])),
    `| **pooled** | ${offline.pooled.referenceWords} | ${counts(offline.pooled)} | ` +
      `**${percent(offline.pooled.wer)}** | ${counts(streaming.pooled)} | **${percent(streaming.pooled.wer)}** |`,
    '',
    `normalised transcripts (${basename(m.path)}):`,
    ...listing,
  ];
}

/** The report as text: a header naming what the figures depend on, then one table per model. */
export function formatReport(report: AccuracyReport): string {
  const clips = report.corpus.clips.map((c) => `${c.name} (${c.source}, ${c.seconds.toFixed(1)} s)`).join(', ');
  return [
    "Word error rate, lower is better: (S + D + I) / reference words, after Whisper's English text normalisation",
    `machine: ${describeMachine(report.machine)}`,
    `corpus: ${report.corpus.dir}: ${clips}`,
    `normaliser: ${report.normalizer}`,
    `command: ${report.command}`,
    '',
    ...report.models.flatMap((m) => [...modelSection(m), '']),
  ].join('\n');
}
