/**
 * Shape-faithful synthetic Whisper models: whisper.cpp's legacy ggml file
 * with the official hyperparameters, mel filters, a real BPE vocabulary and
 * every official tensor, filled with seeded random weights. It costs the same
 * compute as the real model and transcribes everything into nonsense, so it
 * serves behaviour tests and benchmarks, never transcription.
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { float16Bits } from './f16.js';
import { gpt2TokenBytes } from './gpt2-vocab.js';
import { melFilterbank } from './mel-filters.js';
import { NORMAL_TABLE_SIZE, Xoshiro128, unitNormalQuantiles } from './prng.js';
import { writeAll } from '../write-all.js';
import {
  GGML_MAGIC,
  whisperHparams,
  whisperTensors,
  type SyntheticModelName,
  type TensorSpec,
  type WhisperHparams,
} from './whisper-layout.js';

export const DEFAULT_SEED = 1;

const SAMPLE_RATE = 16000;
const N_FFT = 400;
const CHUNK_ELEMENTS = 1 << 20;

export interface GeneratedModel {
  path: string;
  bytes: number;
}

export function syntheticModelFileName(name: SyntheticModelName): string {
  return `ggml-${name}-synthetic.bin`;
}

/**
 * Writes the model to `outPath` through a temporary file in the same folder,
 * renamed into place only once complete, so an interrupted run never leaves a
 * truncated file under the real name. The same seed gives the same bytes.
 */
export async function generateSyntheticModel(
  name: SyntheticModelName,
  outPath: string,
  seed = DEFAULT_SEED,
): Promise<GeneratedModel> {
  if (endianness() !== 'LE')
    throw new Error('ggml files are little-endian; this generator writes typed arrays in host order');
  await mkdir(dirname(outPath), { recursive: true });
  const tmpPath = join(dirname(outPath), `.${basename(outPath)}.${process.pid}.tmp`);
  const hparams = whisperHparams(name);
  const rng = new Xoshiro128(seed);
  // Its own ArrayBuffer, so the typed-array views below are aligned.
  const scratch = Buffer.from(new ArrayBuffer(CHUNK_ELEMENTS * 4));
  let bytes = 0;
  const fh = await open(tmpPath, 'w');
  try {
    const write = async (data: Uint8Array): Promise<void> => {
      await writeAll(fh, data);
      bytes += data.length;
    };
    await write(fileHeader(hparams, vocabularyFor(name)));
    for (const tensor of whisperTensors(hparams)) {
      await write(tensorHeader(tensor));
      for (const chunk of tensorData(tensor, rng, scratch)) await write(chunk);
    }
    await fh.close();
    await rename(tmpPath, outPath);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmpPath, { force: true });
    throw err;
  }
  return { path: outPath, bytes };
}

/**
 * The official .en files hold GPT-2's 50257 tokens, "<|endoftext|>" last
 * (their size matches to the byte). The multilingual files hold 50257 tokens
 * of a different BPE that we do not have; GPT-2's 50256 text tokens plus the
 * empty token whisper.cpp expects at id 50256 give the same count, and the
 * loader appends the special tokens itself.
 */
function vocabularyFor(name: SyntheticModelName): Buffer[] {
  const tokens = gpt2TokenBytes();
  if (name.endsWith('.en')) return tokens;
  return [...tokens.slice(0, 50256), Buffer.alloc(0)];
}

function fileHeader(h: WhisperHparams, vocab: Buffer[]): Buffer {
  const mel = melFilterbank(SAMPLE_RATE, N_FFT, h.nMels);
  const fields = [
    GGML_MAGIC,
    h.nVocab,
    h.nAudioCtx,
    h.nAudioState,
    h.nAudioHead,
    h.nAudioLayer,
    h.nTextCtx,
    h.nTextState,
    h.nTextHead,
    h.nTextLayer,
    h.nMels,
    h.ftype,
  ];
  const vocabBytes = vocab.reduce((sum, token) => sum + 4 + token.length, 4);
  const out = Buffer.alloc(fields.length * 4 + 8 + mel.weights.byteLength + vocabBytes);
  let pos = 0;
  for (const value of fields) pos = out.writeInt32LE(value | 0, pos);
  pos = out.writeInt32LE(mel.nMels, pos);
  pos = out.writeInt32LE(mel.nBins, pos);
  for (const w of mel.weights) pos = out.writeFloatLE(w, pos);
  pos = out.writeInt32LE(vocab.length, pos);
  for (const token of vocab) {
    pos = out.writeInt32LE(token.length, pos);
    pos += token.copy(out, pos);
  }
  return out;
}

function tensorHeader(t: TensorSpec): Buffer {
  const name = Buffer.from(t.name, 'utf8');
  const out = Buffer.alloc(12 + 4 * t.ne.length + name.length);
  let pos = out.writeInt32LE(t.ne.length, 0);
  pos = out.writeInt32LE(name.length, pos);
  pos = out.writeInt32LE(t.type === 'f16' ? 1 : 0, pos);
  for (const n of t.ne) pos = out.writeInt32LE(n, pos);
  name.copy(out, pos);
  return out;
}

/** Yields the tensor's data in chunks that reuse `scratch`; each must be written before the next is asked for. */
function* tensorData(t: TensorSpec, rng: Xoshiro128, scratch: Buffer): Generator<Uint8Array> {
  const count = t.ne.reduce((a, b) => a * b, 1);
  const elementBytes = t.type === 'f16' ? 2 : 4;
  const fill = elementFiller(t, rng);
  for (let start = 0; start < count; start += CHUNK_ELEMENTS) {
    const n = Math.min(CHUNK_ELEMENTS, count - start);
    const view = scratch.subarray(0, n * elementBytes);
    fill(view, start, n);
    yield view;
  }
}

type Filler = (dst: Buffer, start: number, n: number) => void;

function elementFiller(t: TensorSpec, rng: Xoshiro128): Filler {
  const init = t.init;
  if (t.type === 'f16') {
    if (init.kind !== 'normal') throw new Error(`${t.name}: f16 tensors are drawn from a normal distribution`);
    const table = f16NormalTable(init.std);
    return (dst, _start, n) => {
      const out = new Uint16Array(dst.buffer, dst.byteOffset, n);
      // One 32-bit draw feeds two elements. CHUNK_ELEMENTS is even, so the
      // stream (and the file) does not depend on where chunks split.
      for (let i = 0; i < n; i += 2) {
        const r = rng.nextUint32();
        out[i] = table[r & 0xffff] as number;
        if (i + 1 < n) out[i + 1] = table[r >>> 16] as number;
      }
    };
  }
  return (dst, start, n) => {
    const out = new Float32Array(dst.buffer, dst.byteOffset, n);
    switch (init.kind) {
      case 'constant':
        out.fill(init.value);
        return;
      case 'normal': {
        const unit = unitNormalQuantiles();
        for (let i = 0; i < n; i++) out[i] = init.std * (unit[rng.nextUint32() >>> 16] as number);
        return;
      }
      case 'sinusoids': {
        const channels = t.ne[0] as number;
        for (let i = 0; i < n; i++) out[i] = sinusoid(start + i, channels);
        return;
      }
    }
  };
}

/** Element `index` of whisper/model.py's sinusoids(length, channels), row-major. */
function sinusoid(index: number, channels: number): number {
  const half = channels / 2;
  const position = Math.floor(index / channels);
  const column = index % channels;
  const timescale = Math.exp((-Math.log(10000) / (half - 1)) * (column % half));
  return column < half ? Math.sin(position * timescale) : Math.cos(position * timescale);
}

const f16Tables = new Map<number, Uint16Array>();

function f16NormalTable(std: number): Uint16Array {
  let table = f16Tables.get(std);
  if (!table) {
    const unit = unitNormalQuantiles();
    table = new Uint16Array(NORMAL_TABLE_SIZE);
    for (let i = 0; i < NORMAL_TABLE_SIZE; i++) table[i] = float16Bits(std * (unit[i] as number));
    f16Tables.set(std, table);
  }
  return table;
}
