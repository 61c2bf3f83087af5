/**
 * Official model files this project can download, with the sizes and sha256
 * digests they are verified against.
 */

export interface ModelFile {
  /** Name on the command line, e.g. "tiny.en". */
  name: string;
  /** File name on the server and in models/. */
  file: string;
  bytes: number;
  sha256: string;
  /** Where the file lives unless MODEL_BASE_URL says otherwise. */
  defaultBaseUrl: string;
}

const WHISPER_REPO = 'https://huggingface.co/ggerganov/whisper.cpp/resolve/main';
const VAD_REPO = 'https://huggingface.co/ggml-org/whisper-vad/resolve/main';

const whisper = (name: string, bytes: number, sha256: string): ModelFile => ({
  name,
  file: `ggml-${name}.bin`,
  bytes,
  sha256,
  defaultBaseUrl: WHISPER_REPO,
});

export const MODEL_FILES: readonly ModelFile[] = [
  whisper('tiny.en', 77_704_715, '921e4cf8686fdd993dcd081a5da5b6c365bfde1162e72b08d75ac75289920b1f'),
  whisper('tiny', 77_691_713, 'be07e048e1e599ad46341c8d2a135645097a538221678b7acdd1b1919c6e1b21'),
  whisper('base.en', 147_964_211, 'a03779c86df3323075f5e796cb2ce5029f00ec8869eee3fdfb897afe36c6d002'),
  whisper('base', 147_951_465, '60ed5bc3dd14eea856493d334349b405782ddcaf0028d4b5df4088345fba2efe'),
  whisper('tiny.en-q8_0', 43_550_795, '5bc2b3860aa151a4c6e7bb095e1fcce7cf12c7b020ca08dcec0c6d018bb7dd94'),
  {
    name: 'silero-v6.2.0',
    file: 'ggml-silero-v6.2.0.bin',
    bytes: 885_098,
    sha256: '2aa269b785eeb53a82983a20501ddf7c1d9c48e33ab63a41391ac6c9f7fb6987',
    defaultBaseUrl: VAD_REPO,
  },
];

export function findModelFile(name: string): ModelFile | undefined {
  return MODEL_FILES.find((m) => m.name === name);
}

/** URL of a model file; `baseUrl` (a mirror) replaces the default location, file name appended. */
export function modelUrl(model: ModelFile, baseUrl?: string): string {
  const base = baseUrl && baseUrl.length > 0 ? baseUrl : model.defaultBaseUrl;
  return `${base.replace(/\/+$/, '')}/${model.file}`;
}
