/**
 * Reader for whisper.cpp's legacy ggml model files: header, mel filters,
 * vocabulary and a tensor index (data is left on disk until asked for).
 * Used to check generated and downloaded models without loading whisper.cpp.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { float16Value } from './f16.js';
import { GGML_MAGIC, type WhisperHparams } from './whisper-layout.js';

export interface GgmlTensorInfo {
  name: string;
  /** ggml order: ne[0] varies fastest. */
  ne: number[];
  /** ggml type id: 0 f32, 1 f16, 2/3 q4_0/q4_1, 6/7 q5_0/q5_1, 8 q8_0. */
  type: number;
  dataOffset: number;
  dataBytes: number;
}

export interface WhisperGgmlFile {
  magic: number;
  hparams: WhisperHparams;
  mel: { nMels: number; nBins: number; weights: Float32Array };
  vocab: Buffer[];
  tensors: GgmlTensorInfo[];
  fileBytes: number;
}

/** [elements per block, bytes per block] of the types whisper.cpp model files use. */
const TYPE_LAYOUT = new Map<number, [number, number]>([
  [0, [1, 4]],
  [1, [1, 2]],
  [2, [32, 18]],
  [3, [32, 20]],
  [6, [32, 22]],
  [7, [32, 24]],
  [8, [32, 34]],
]);

export async function readWhisperGgml(path: string): Promise<WhisperGgmlFile> {
  const fh = await open(path, 'r');
  try {
    const fileBytes = (await fh.stat()).size;
    const cursor = new FileCursor(fh, fileBytes);
    const magic = await cursor.uint32();
    if (magic !== GGML_MAGIC) throw new Error(`${path}: not a legacy ggml file (magic 0x${magic.toString(16)})`);
    const h: number[] = [];
    for (let i = 0; i < 11; i++) h.push(await cursor.int32());
    const [
      nVocab,
      nAudioCtx,
      nAudioState,
      nAudioHead,
      nAudioLayer,
      nTextCtx,
      nTextState,
      nTextHead,
      nTextLayer,
      nMels,
      ftype,
    ] = h as [number, number, number, number, number, number, number, number, number, number, number];
    const hparams: WhisperHparams = {
      nVocab,
      nAudioCtx,
      nAudioState,
      nAudioHead,
      nAudioLayer,
      nTextCtx,
      nTextState,
      nTextHead,
      nTextLayer,
      nMels,
      ftype,
    };

    const melRows = await cursor.int32();
    const melCols = await cursor.int32();
    const melRaw = await cursor.bytes(melRows * melCols * 4);
    const weights = new Float32Array(melRows * melCols);
    for (let i = 0; i < weights.length; i++) weights[i] = melRaw.readFloatLE(i * 4);

    const vocabCount = await cursor.int32();
    const vocab: Buffer[] = [];
    for (let i = 0; i < vocabCount; i++) {
      const len = await cursor.uint32();
      vocab.push(Buffer.from(await cursor.bytes(len)));
    }

    const tensors: GgmlTensorInfo[] = [];
    while (cursor.position < fileBytes) {
      const nDims = await cursor.int32();
      const nameLength = await cursor.int32();
      const type = await cursor.int32();
      const ne: number[] = [];
      for (let i = 0; i < nDims; i++) ne.push(await cursor.int32());
      const name = (await cursor.bytes(nameLength)).toString('utf8');
      const layout = TYPE_LAYOUT.get(type);
      if (!layout) throw new Error(`${path}: tensor ${name} has unsupported ggml type ${type}`);
      const elements = ne.reduce((a, b) => a * b, 1);
      const dataBytes = (elements / layout[0]) * layout[1];
      tensors.push({ name, ne, type, dataOffset: cursor.position, dataBytes });
      cursor.skip(dataBytes);
    }
    if (cursor.position !== fileBytes) throw new Error(`${path}: truncated inside the last tensor`);
    return { magic, hparams, mel: { nMels: melRows, nBins: melCols, weights }, vocab, tensors, fileBytes };
  } finally {
    await fh.close();
  }
}

/** Values of an f32 or f16 tensor. */
export async function readTensorValues(path: string, tensor: GgmlTensorInfo): Promise<Float32Array> {
  if (tensor.type !== 0 && tensor.type !== 1)
    throw new Error(`${tensor.name}: only f32 and f16 tensors can be decoded`);
  const raw = Buffer.alloc(tensor.dataBytes);
  const fh = await open(path, 'r');
  try {
    await readExactly(fh, raw, tensor.dataOffset);
  } finally {
    await fh.close();
  }
  const n = tensor.dataBytes / (tensor.type === 0 ? 4 : 2);
  const values = new Float32Array(n);
  if (tensor.type === 0) {
    for (let i = 0; i < n; i++) values[i] = raw.readFloatLE(i * 4);
  } else {
    for (let i = 0; i < n; i++) values[i] = float16Value(raw.readUInt16LE(i * 2));
  }
  return values;
}

async function readExactly(fh: FileHandle, into: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

/** Sequential reads through a read-ahead window: the vocabulary alone is 100k tiny fields. */
class FileCursor {
  position = 0;
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly fileBytes: number,
  ) {}

  async bytes(n: number): Promise<Buffer> {
    const offset = this.position - this.windowStart;
    if (offset < 0 || offset + n > this.window.length) {
      if (this.position + n > this.fileBytes) throw new Error(`unexpected end of file at byte ${this.position}`);
      this.window = Buffer.alloc(Math.min(Math.max(n, 1 << 16), this.fileBytes - this.position));
      await readExactly(this.fh, this.window, this.position);
      this.windowStart = this.position;
    }
    const start = this.position - this.windowStart;
    this.position += n;
    return this.window.subarray(start, start + n);
  }

  async int32(): Promise<number> {
    return (await this.bytes(4)).readInt32LE(0);
  }

  async uint32(): Promise<number> {
    return (await this.bytes(4)).readUInt32LE(0);
  }

  skip(n: number): void {
    this.position += n;
  }
}
