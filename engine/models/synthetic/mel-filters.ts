/**
 * Mel filterbank identical (to float32 precision) to librosa.filters.mel with
 * its defaults (Slaney mel scale, Slaney area normalisation, fmin 0, fmax
 * sr/2), which is how Whisper's mel_filters.npz was made.
 */

export interface MelFilterbank {
  nMels: number;
  /** Frequency bins per filter: nFft / 2 + 1. */
  nBins: number;
  /** Row-major nMels x nBins. */
  weights: Float32Array;
}

const F_SP = 200 / 3;
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOG_STEP = Math.log(6.4) / 27;

function hzToMel(hz: number): number {
  return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP : hz / F_SP;
}

function melToHz(mel: number): number {
  return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : F_SP * mel;
}

export function melFilterbank(sampleRate: number, nFft: number, nMels: number): MelFilterbank {
  const nBins = Math.floor(nFft / 2) + 1;
  const maxMel = hzToMel(sampleRate / 2);
  const edges = Array.from({ length: nMels + 2 }, (_, i) => melToHz((maxMel * i) / (nMels + 1)));
  const weights = new Float32Array(nMels * nBins);
  for (let m = 0; m < nMels; m++) {
    const [left, centre, right] = [edges[m] as number, edges[m + 1] as number, edges[m + 2] as number];
    const norm = 2 / (right - left);
    for (let k = 0; k < nBins; k++) {
      const hz = (k * sampleRate) / nFft;
      const rising = (hz - left) / (centre - left);
      const falling = (right - hz) / (right - centre);
      weights[m * nBins + k] = Math.max(0, Math.min(rising, falling)) * norm;
    }
  }
  return { nMels, nBins, weights };
}
