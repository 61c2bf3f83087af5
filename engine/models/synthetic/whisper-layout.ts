/**
 * Hyperparameters and tensor list of the official Whisper checkpoints, as
 * whisper.cpp's legacy ggml converter (models/convert-pt-to-ggml.py) lays
 * them out.
 */

/** "ggml" as a little-endian uint32: the first four bytes of a legacy ggml file. */
export const GGML_MAGIC = 0x67676d6c;

export type SyntheticModelName = 'tiny.en' | 'tiny' | 'base.en' | 'base';

export const SYNTHETIC_MODEL_NAMES: readonly SyntheticModelName[] = ['tiny.en', 'tiny', 'base.en', 'base'];

export function isSyntheticModelName(name: string): name is SyntheticModelName {
  return (SYNTHETIC_MODEL_NAMES as readonly string[]).includes(name);
}

/** The eleven int32 fields after the magic, in file order. */
export interface WhisperHparams {
  nVocab: number;
  nAudioCtx: number;
  nAudioState: number;
  nAudioHead: number;
  nAudioLayer: number;
  nTextCtx: number;
  nTextState: number;
  nTextHead: number;
  nTextLayer: number;
  nMels: number;
  /** 1: big matrices in f16, the form the official ggml files ship in. */
  ftype: number;
}

export function whisperHparams(name: SyntheticModelName): WhisperHparams {
  const base = name.startsWith('base');
  const state = base ? 512 : 384;
  const heads = base ? 8 : 6;
  const layers = base ? 6 : 4;
  return {
    nVocab: name.endsWith('.en') ? 51864 : 51865,
    nAudioCtx: 1500,
    nAudioState: state,
    nAudioHead: heads,
    nAudioLayer: layers,
    nTextCtx: 448,
    nTextState: state,
    nTextHead: heads,
    nTextLayer: layers,
    nMels: 80,
    ftype: 1,
  };
}

/** How the synthetic generator fills a tensor. */
export type TensorInit =
  | { kind: 'normal'; std: number }
  | { kind: 'constant'; value: number }
  /** Whisper's fixed encoder position table (whisper/model.py sinusoids). */
  | { kind: 'sinusoids' };

export interface TensorSpec {
  name: string;
  /** ggml order: ne[0] varies fastest, i.e. the PyTorch shape reversed. */
  ne: number[];
  type: 'f32' | 'f16';
  init: TensorInit;
}

const WEIGHT_STD = 0.02;
const DECODER_POSITION_STD = 0.01;

/**
 * Every tensor in the order the official checkpoints' state dicts list them
 * (decoder position table first, then the encoder's, the token embedding,
 * decoder blocks, encoder convolutions and blocks). whisper.cpp finds tensors
 * by name, so the order only matters for byte-level resemblance.
 */
export function whisperTensors(h: WhisperHparams): TensorSpec[] {
  const tensors: TensorSpec[] = [];
  const matrix = (name: string, ...ne: number[]): void => {
    tensors.push({ name, ne, type: 'f16', init: { kind: 'normal', std: WEIGHT_STD } });
  };
  const vector = (name: string, n: number, value: number): void => {
    tensors.push({ name, ne: [n], type: 'f32', init: { kind: 'constant', value } });
  };
  const layerNorm = (prefix: string, n: number): void => {
    vector(`${prefix}.weight`, n, 1);
    vector(`${prefix}.bias`, n, 0);
  };
  const attention = (prefix: string, n: number): void => {
    matrix(`${prefix}.query.weight`, n, n);
    vector(`${prefix}.query.bias`, n, 0);
    matrix(`${prefix}.key.weight`, n, n);
    matrix(`${prefix}.value.weight`, n, n);
    vector(`${prefix}.value.bias`, n, 0);
    matrix(`${prefix}.out.weight`, n, n);
    vector(`${prefix}.out.bias`, n, 0);
  };
  const block = (prefix: string, n: number, cross: boolean): void => {
    layerNorm(`${prefix}.mlp_ln`, n);
    matrix(`${prefix}.mlp.0.weight`, n, 4 * n);
    vector(`${prefix}.mlp.0.bias`, 4 * n, 0);
    matrix(`${prefix}.mlp.2.weight`, 4 * n, n);
    vector(`${prefix}.mlp.2.bias`, n, 0);
    layerNorm(`${prefix}.attn_ln`, n);
    attention(`${prefix}.attn`, n);
    if (cross) {
      layerNorm(`${prefix}.cross_attn_ln`, n);
      attention(`${prefix}.cross_attn`, n);
    }
  };

  tensors.push({
    name: 'decoder.positional_embedding',
    ne: [h.nTextState, h.nTextCtx],
    type: 'f32',
    init: { kind: 'normal', std: DECODER_POSITION_STD },
  });
  tensors.push({
    name: 'encoder.positional_embedding',
    ne: [h.nAudioState, h.nAudioCtx],
    type: 'f32',
    init: { kind: 'sinusoids' },
  });
  matrix('decoder.token_embedding.weight', h.nTextState, h.nVocab);
  for (let i = 0; i < h.nTextLayer; i++) block(`decoder.blocks.${i}`, h.nTextState, true);
  layerNorm('decoder.ln', h.nTextState);

  matrix('encoder.conv1.weight', 3, h.nMels, h.nAudioState);
  // The converter reshapes conv biases from [n] to [n, 1] and keeps them f32.
  tensors.push({
    name: 'encoder.conv1.bias',
    ne: [1, h.nAudioState],
    type: 'f32',
    init: { kind: 'constant', value: 0 },
  });
  matrix('encoder.conv2.weight', 3, h.nAudioState, h.nAudioState);
  tensors.push({
    name: 'encoder.conv2.bias',
    ne: [1, h.nAudioState],
    type: 'f32',
    init: { kind: 'constant', value: 0 },
  });
  for (let i = 0; i < h.nAudioLayer; i++) block(`encoder.blocks.${i}`, h.nAudioState, false);
  layerNorm('encoder.ln_post', h.nAudioState);
  return tensors;
}
