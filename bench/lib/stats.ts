/** Value at quantile q (0..1) of `values`, nearest-rank on a sorted copy. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

export interface LatencyStats {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Percentiles of latencies in ms, rounded; NaN where there are none. */
export function latencyStats(values: readonly number[]): LatencyStats {
  const at = (q: number): number => Math.round(quantile(values, q));
  return { count: values.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1) };
}
