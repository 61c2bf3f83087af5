/** One /metrics scrape: each series (name plus labels, as printed) to its value. */
export type Scrape = Map<string, number>;

export async function scrapeMetrics(httpUrl: string): Promise<Scrape> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const samples: Scrape = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

export const metric = (scrape: Scrape, series: string): number => scrape.get(series) ?? 0;
