import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { commandLine } from './commands.js';
import { projectRoot } from './paths.js';
import type {
  DetectLanguageOptions,
  Language,
  LanguageDetection,
  ModelInfo,
  ModelLoadOptions,
  Pcm,
  TranscribeOptions,
  TranscriptionResult,
  VadParams,
  VadSegment,
} from './types.js';

export interface NativeWhisperModel {
  transcribe(audio: Pcm, options?: TranscribeOptions): Promise<TranscriptionResult>;
  transcribeSync(audio: Pcm, options?: TranscribeOptions, abortFlag?: Int32Array): TranscriptionResult;
  detectLanguage(audio: Pcm, options?: DetectLanguageOptions): Promise<LanguageDetection>;
  abort(): boolean;
  free(): void;
  info(): ModelInfo;
}

export interface NativeVadModel {
  readonly windowSize: number;
  push(audio: Pcm): Float32Array;
  flush(): Float32Array;
  reset(): void;
  detect(audio: Pcm): Promise<Float32Array>;
  segments(audio: Pcm, params?: VadParams): Promise<VadSegment[]>;
  free(): void;
}

export interface NativeAddon {
  WhisperModel: new (path: string, options?: ModelLoadOptions) => NativeWhisperModel;
  VadModel: new (path: string, options?: { threads?: number }) => NativeVadModel;
  version(): string;
  systemInfo(): string;
  languages(): Language[];
  autoAudioCtx(nSamples: number, modelAudioCtx: number): number;
  loadedModelCount(): number;
  /** Silero contexts (weights and buffers) loaded in this process; VadModels of one file share them. */
  vadContextCount(): number;
  /** Returns freed heap memory to the system (glibc's malloc_trim); true when some was. */
  trimMemory(): boolean;
  /**
   * The C heap (glibc's allocator, all threads' arenas): bytes in use, bytes free inside the arenas, and blocks mapped
   * on their own. Empty where the C library is not glibc.
   */
  mallocStats(): { inUseBytes?: number; freeBytes?: number; mmappedBytes?: number };
  defaultThreads(): number;
}

/** Where `npm install` / `npm run build:addon` put the compiled addon. */
export const addonPath: string = join(projectRoot, 'build', 'Release', 'whisper.node');

function loadAddon(): NativeAddon {
  if (!existsSync(addonPath)) {
    const error = new Error(
      `the whisper.cpp addon is not built (${addonPath} is missing); run: ${commandLine('buildAddon')}`,
    );
    Object.assign(error, { code: 'ADDON_MISSING' });
    throw error;
  }
  return createRequire(import.meta.url)(addonPath) as NativeAddon;
}

export const native: NativeAddon = loadAddon();
