/** A line of a chart: points in data units, in x order. */
export interface ChartSeries {
  label: string;
  points: [number, number][];
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  /** Horizontal reference lines, e.g. a latency requirement. */
  guides?: { y: number; label: string }[];
  /** Upper end of the y axis; points above it are drawn at the edge. Default: the data's maximum. */
  yMax?: number;
}

const WIDTH = 720;
const HEIGHT = 360;
const PAD = { left: 64, right: 180, top: 36, bottom: 48 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

/** Round step for about `count` ticks over [0, max]. */
function tickStep(max: number, count: number): number {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return step ?? 10 * power;
}

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fixed = (n: number): string => String(Math.round(n * 10) / 10);

/** A small self-contained SVG line chart; axes start at zero. */
export function lineChart(options: ChartOptions): string {
  const all = options.series.flatMap((s) => s.points);
  const xMax = Math.max(1, ...all.map(([x]) => x));
  const yTop = options.yMax ?? Math.max(1, ...all.map(([, y]) => y), ...(options.guides ?? []).map((g) => g.y));
  const xStep = tickStep(xMax, 8);
  const yStep = tickStep(yTop, 6);
  const xEnd = Math.ceil(xMax / xStep) * xStep;
  const yEnd = Math.ceil(yTop / yStep) * yStep;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const px = (x: number): number => PAD.left + (x / xEnd) * plotW;
  const py = (y: number): number => PAD.top + plotH - (Math.min(y, yEnd) / yEnd) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ` +
      `${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${PAD.left}" y="20" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>`,
  ];
  for (let x = 0; x <= xEnd + 1e-9; x += xStep) {
    out.push(`<line x1="${fixed(px(x))}" y1="${PAD.top}" x2="${fixed(px(x))}" y2="${PAD.top + plotH}" stroke="#eee"/>`);
    out.push(`<text x="${fixed(px(x))}" y="${PAD.top + plotH + 16}" text-anchor="middle">${fixed(x)}</text>`);
  }
  for (let y = 0; y <= yEnd + 1e-9; y += yStep) {
    out.push(
      `<line x1="${PAD.left}" y1="${fixed(py(y))}" x2="${PAD.left + plotW}" y2="${fixed(py(y))}" stroke="#eee"/>`,
    );
    out.push(`<text x="${PAD.left - 6}" y="${fixed(py(y) + 4)}" text-anchor="end">${fixed(y)}</text>`);
  }
  out.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  out.push(
    `<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
  );
  out.push(
    `<text transform="translate(16 ${PAD.top + plotH / 2}) rotate(-90)" ` +
      `text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  for (const guide of options.guides ?? []) {
    out.push(
      `<line x1="${PAD.left}" y1="${fixed(py(guide.y))}" x2="${PAD.left + plotW}" y2="${fixed(py(guide.y))}" ` +
        'stroke="#555" stroke-dasharray="2 3"/>',
    );
    out.push(
      `<text x="${PAD.left + plotW - 4}" y="${fixed(py(guide.y) - 4)}" text-anchor="end" ` +
        `fill="#555">${escapeXml(guide.label)}</text>`,
    );
  }
  options.series.forEach((series, i) => {
    const colour = COLOURS[i % COLOURS.length] as string;
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    const path = series.points.map(([x, y]) => `${fixed(px(x))},${fixed(py(y))}`).join(' ');
    out.push(`<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
    for (const [x, y] of series.points)
      out.push(`<circle cx="${fixed(px(x))}" cy="${fixed(py(y))}" r="3" fill="${colour}"/>`);
    const ly = PAD.top + 10 + i * 20;
    out.push(
      `<line x1="${WIDTH - PAD.right + 12}" y1="${ly}" x2="${WIDTH - PAD.right + 36}" y2="${ly}" ` +
        `stroke="${colour}" stroke-width="2"${dash}/>`,
    );
    out.push(`<text x="${WIDTH - PAD.right + 42}" y="${ly + 4}">${escapeXml(series.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
