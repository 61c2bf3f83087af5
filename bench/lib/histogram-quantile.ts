/** Quantiles of a Prometheus histogram from one scrape, interpolated within buckets as histogram_quantile() does. */
import type { Scrape } from './metrics-scrape.js';

/** The `q` quantile (0..1) of histogram `name` summed over `scrapes`, in its unit; null when it has no observations. */
export function histogramQuantile(scrapes: Scrape[], name: string, q: number): number | null {
  const counts = new Map<number, number>();
  for (const scrape of scrapes) {
    for (const [series, value] of scrape) {
      const match = series.match(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\}$`));
      if (!match) continue;
      const bound = match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]);
      counts.set(bound, (counts.get(bound) ?? 0) + value);
    }
  }
  const buckets = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let previousBound = 0;
  let previousCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return previousBound;
      return previousBound + ((bound - previousBound) * (rank - previousCount)) / Math.max(1, count - previousCount);
    }
    previousBound = bound;
    previousCount = count;
  }
  return previousBound;
}
