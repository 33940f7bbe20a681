// A grouped bar chart as PNG with pngjs (no canvas): one group per method, one bar per metric.
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';

export interface BarGroup {
  label: string;
  values: number[];
}

/** Bars scaled to the largest value; colours per series in order; the legend lives in the Markdown. */
export function barChartPng(
  file: string,
  groups: readonly BarGroup[],
  colours: [number, number, number][],
): void {
  const series = Math.max(1, ...groups.map((g) => g.values.length));
  const bar = 22;
  const gap = 26;
  const pad = 20;
  const height = 260;
  const width = pad * 2 + groups.length * (series * bar + gap);
  const png = new PNG({ width, height });
  const set = (x: number, y: number, [r, g, b]: [number, number, number]) => {
    const i = (y * width + x) * 4;
    png.data[i] = r;
    png.data[i + 1] = g;
    png.data[i + 2] = b;
    png.data[i + 3] = 255;
  };
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) set(x, y, [255, 255, 255]);
  const max = Math.max(1e-9, ...groups.flatMap((g) => g.values));
  const base = height - pad;
  for (let x = pad / 2; x < width - pad / 2; x++) set(x, base, [0, 0, 0]);
  // Light grid every 10% of the maximum.
  for (let t = 1; t <= 10; t++) {
    const y = Math.round(base - ((height - 2 * pad) * t) / 10);
    for (let x = pad / 2; x < width - pad / 2; x += 3) set(x, y, [200, 200, 200]);
  }
  groups.forEach((g, gi) => {
    g.values.forEach((v, si) => {
      const x0 = pad + gi * (series * bar + gap) + si * bar;
      const h = Math.round(((height - 2 * pad) * Math.max(0, v)) / max);
      for (let y = base - h; y < base; y++)
        for (let x = x0; x < x0 + bar - 3; x++) set(x, y, colours[si % colours.length]);
    });
  });
  writeFileSync(file, PNG.sync.write(png));
}
