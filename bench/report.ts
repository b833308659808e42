// Where a benchmark leaves its results: bench-out/<name>-<time>/ with the printed table (table.txt), the
// figures (results.json) and a grouped bar chart (plot.svg), so runs can be compared later and side by
// side. The SVG is written by hand: a few rectangles and labels need no plotting library.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** One bar: a value for one series (e.g. a client) within a group (e.g. a scenario). */
export interface Bar {
  readonly series: string;
  readonly value: number;
  /** Shown after the bar; defaults to the value with 2 decimals. */
  readonly label?: string;
}

/** One panel of the chart: a measure (with its unit) for each group, one bar per series. */
export interface Panel {
  readonly title: string;
  readonly groups: readonly { readonly name: string; readonly bars: readonly Bar[] }[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const W = 820;
const LABEL_W = 250;
const BAR_H = 16;
const GAP = 10;

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A horizontal grouped bar chart, one panel under the other; every panel has its own scale. */
export function barChartSvg(title: string, panels: readonly Panel[]): string {
  const series = [...new Set(panels.flatMap((p) => p.groups.flatMap((g) => g.bars.map((b) => b.series))))];
  const color = (s: string): string => COLORS[series.indexOf(s) % COLORS.length]!;
  const out: string[] = [];
  let y = 40;
  out.push(`<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  // Legend.
  let lx = 10;
  for (const s of series) {
    out.push(`<rect x="${lx}" y="${y - 11}" width="12" height="12" fill="${color(s)}"/><text x="${lx + 16}" y="${y}" font-size="12">${esc(s)}</text>`);
    lx += 24 + s.length * 7;
  }
  y += 18;
  for (const p of panels) {
    y += 14;
    out.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
    y += 8;
    const max = Math.max(1e-12, ...p.groups.flatMap((g) => g.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0))));
    const scale = (W - LABEL_W - 90) / max;
    for (const g of p.groups) {
      const h = g.bars.length * (BAR_H + 2);
      out.push(`<text x="10" y="${y + h / 2 + 4}" font-size="12">${esc(g.name)}</text>`);
      for (const b of g.bars) {
        const v = Number.isFinite(b.value) ? Math.max(0, b.value) : 0;
        const w = Math.max(1, v * scale);
        out.push(`<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${color(b.series)}"/>`);
        out.push(`<text x="${(LABEL_W + w + 4).toFixed(1)}" y="${y + BAR_H - 4}" font-size="11">${esc(b.label ?? b.value.toFixed(2))}</text>`);
        y += BAR_H + 2;
      }
      y += GAP;
    }
  }
  y += 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${out.join('\n')}\n</svg>\n`;
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
}

/**
 * Writes table.txt, results.json and plot.svg under bench-out/<name>-<time>/ (or `dir`) and returns the
 * folder. A failure to write is reported, never fatal: the figures are already on the terminal.
 */
export function writeBenchReport(name: string, table: string, results: unknown, panels: readonly Panel[], dir?: string): string | null {
  const out = resolve(dir ?? join('bench-out', `${name}-${stamp(new Date())}`));
  try {
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'table.txt'), table.endsWith('\n') ? table : `${table}\n`);
    writeFileSync(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(out, 'plot.svg'), barChartSvg(`bench:${name}`, panels));
    return out;
  } catch (err) {
    console.error(`could not write the report to ${out}: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
}
