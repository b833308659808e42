// Where a benchmark leaves its results: bench-out/<name>-<time>/ with the printed table (table.txt), the
// figures (results.json) and a grouped bar chart (plot.svg), so runs can be compared later and side by
// side. The SVG is written by hand: a few rectangles, lines and labels need no plotting library.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** One bar: a value for one series (e.g. a client) within a group (e.g. a scenario). */
export interface Bar {
  readonly series: string;
  readonly value: number;
  /** Shown after the bar; defaults to the value with 2 decimals. Put ratios against the reference here. */
  readonly label?: string;
  /** A spread drawn as a whisker across the bar (e.g. p10–p90), in the panel's unit. */
  readonly range?: readonly [number, number];
}

/** A dashed vertical line across a panel: a target or the reference's value. */
export interface ReferenceLine {
  readonly value: number;
  readonly label: string;
}

/** One panel of the chart: a measure (with its unit) for each group, one bar per series. */
export interface Panel {
  readonly title: string;
  readonly groups: readonly { readonly name: string; readonly bars: readonly Bar[] }[];
  /** A smaller line under the title (how to read the panel). */
  readonly note?: string;
  /** 'log' when the bars span decades (bars then start at the lowest decade shown). Default 'linear'. */
  readonly scale?: 'linear' | 'log';
  /** Bars grow from this value instead of 0 (e.g. 1 for ratios to a target: over goes right, under left). */
  readonly baseline?: number;
  readonly references?: readonly ReferenceLine[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const W = 880;
const BAR_H = 16;
const GAP = 10;
// Rough text widths for sans-serif, enough to keep labels from running off the picture.
const CHAR_W_12 = 6.8;
const CHAR_W_11 = 6.2;

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
const finite = (xs: readonly number[]): number[] => xs.filter((x) => Number.isFinite(x));

/** A short tick label: 1.5M, 200k, 0.25. */
function tickText(v: number): string {
  const a = Math.abs(v);
  const trim = (x: number): string => String(Number(x.toPrecision(3)));
  if (a >= 1e9) return `${trim(v / 1e9)}G`;
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e4) return `${trim(v / 1e3)}k`;
  return trim(v);
}

/** A step of 1, 2 or 5 × 10^k giving about `n` intervals over `span`. */
function niceStep(span: number, n: number): number {
  const raw = span / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/** The largest 1, 2 or 5 × 10^k not above v (v > 0). */
function niceBelow(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  return ([5, 2, 1].find((m) => m * p <= v * 1.0000001) ?? 1) * p;
}

/** The smallest 1, 2 or 5 × 10^k not below v (v > 0). */
function niceAbove(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((m) => m * p >= v * 0.9999999) ?? 10) * p;
}

interface Axis {
  /** Pixel offset within the plot area for a value. */
  readonly x: (v: number) => number;
  readonly ticks: readonly number[];
  /** Where bars start. */
  readonly base: number;
}

/** The panel's value axis over `width` pixels, from every value, whisker and reference it shows. */
function axisFor(p: Panel, width: number): Axis {
  const vals = finite([
    ...p.groups.flatMap((g) => g.bars.flatMap((b) => [b.value, ...(b.range ?? [])])),
    ...(p.references ?? []).map((r) => r.value),
  ]);
  if (p.scale === 'log') {
    const pos = vals.filter((v) => v > 0);
    if (p.baseline !== undefined && p.baseline > 0) pos.push(p.baseline);
    if (pos.length === 0) pos.push(1);
    // Ends at 1, 2 or 5 × 10^k around the values, ticks at decades (and 2, 5 within a short span).
    // The smallest bar keeps some length: the axis starts below it.
    const lo = niceBelow(Math.min(...pos) * 0.6);
    let hi = niceAbove(Math.max(...pos));
    if (hi <= lo) hi = lo * 10;
    const l0 = Math.log10(lo);
    const span = Math.log10(hi) - l0;
    const ticks: number[] = [];
    for (let d = 10 ** Math.floor(l0); d <= hi * 1.0001; d *= 10) {
      for (const m of span <= 2.5 ? [1, 2, 5] : [1]) {
        const t = Number((m * d).toPrecision(6));
        if (t >= lo * 0.9999 && t <= hi * 1.0001) ticks.push(t);
      }
    }
    const x = (v: number): number => (v > 0 ? clamp(((Math.log10(v) - l0) / span) * width, 0, width) : 0);
    return { x, ticks, base: p.baseline !== undefined && p.baseline > 0 ? p.baseline : lo };
  }
  const base = p.baseline ?? 0;
  let lo = Math.min(base, ...vals);
  let hi = Math.max(base, ...vals);
  if (hi - lo < 1e-12) hi = lo + (Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1);
  const step = niceStep(hi - lo, 5);
  lo = Math.floor(lo / step + 1e-9) * step;
  hi = Math.ceil(hi / step - 1e-9) * step;
  // No negative axis for plain non-negative measures.
  if (p.baseline === undefined && Math.min(...vals, 0) >= 0) lo = Math.max(0, lo);
  const ticks: number[] = [];
  for (let t = lo; t <= hi + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  const x = (v: number): number => clamp(((v - lo) / (hi - lo)) * width, 0, width);
  return { x, ticks, base };
}

/** A horizontal grouped bar chart, one panel under the other; every panel has its own scale and axis. */
export function barChartSvg(title: string, panels: readonly Panel[], subtitle?: string): string {
  const series = [...new Set(panels.flatMap((p) => p.groups.flatMap((g) => g.bars.map((b) => b.series))))];
  const color = (s: string): string => COLORS[series.indexOf(s) % COLORS.length]!;
  const groupNames = panels.flatMap((p) => p.groups.map((g) => g.name));
  const labelW = clamp(16 + Math.max(0, ...groupNames.map((n) => n.length)) * CHAR_W_12, 120, 340);
  const out: string[] = [];
  let y = 22;
  out.push(`<text x="10" y="${y}" font-size="15" font-weight="bold">${esc(title)}</text>`);
  if (subtitle) {
    y += 16;
    out.push(`<text x="10" y="${y}" font-size="11" fill="#555">${esc(subtitle)}</text>`);
  }
  // Legend, wrapped to the picture's width.
  y += 20;
  let lx = 10;
  for (const s of series) {
    const w = 28 + s.length * CHAR_W_12;
    if (lx > 10 && lx + w > W - 10) {
      lx = 10;
      y += 18;
    }
    out.push(`<rect x="${lx}" y="${y - 11}" width="12" height="12" fill="${color(s)}"/><text x="${lx + 16}" y="${y}" font-size="12">${esc(s)}</text>`);
    lx += w;
  }
  y += 8;
  for (const p of panels) {
    y += 20;
    out.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
    if (p.note) {
      y += 15;
      out.push(`<text x="10" y="${y}" font-size="11" fill="#555">${esc(p.note)}</text>`);
    }
    const labels = p.groups.flatMap((g) => g.bars.map((b) => b.label ?? b.value.toFixed(2)));
    const labelRoom = clamp(10 + Math.max(0, ...labels.map((l) => l.length)) * CHAR_W_11, 50, 360);
    const plotW = W - labelW - labelRoom - 10;
    const axis = axisFor(p, plotW);
    const X = (v: number): number => labelW + axis.x(v);
    // Reference labels above the body, the lines drawn once its height is known.
    const refs = p.references ?? [];
    if (refs.length > 0) y += 16;
    for (const r of refs) {
      const half = (r.label.length * CHAR_W_11 * 0.9) / 2;
      const rx = clamp(X(r.value), labelW + half, W - 4 - half);
      out.push(`<text x="${rx.toFixed(1)}" y="${y - 2}" font-size="10" fill="#444" text-anchor="middle">${esc(r.label)}</text>`);
    }
    y += refs.length > 0 ? 6 : 10;
    const top = y;
    const body: string[] = [];
    for (const g of p.groups) {
      const h = g.bars.length * (BAR_H + 2);
      body.push(`<text x="10" y="${y + h / 2 + 4}" font-size="12">${esc(g.name)}</text>`);
      for (const b of g.bars) {
        const x0 = X(axis.base);
        const x1 = Number.isFinite(b.value) ? X(b.value) : x0;
        const left = Math.min(x0, x1);
        const w = Math.max(1, Math.abs(x1 - x0));
        body.push(`<rect x="${left.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${color(b.series)}"/>`);
        let end = Math.max(x0, x1);
        if (b.range && b.range.every((v) => Number.isFinite(v))) {
          const [r0, r1] = [X(b.range[0]), X(b.range[1])];
          const my = y + BAR_H / 2;
          body.push(
            `<path d="M${r0.toFixed(1)} ${my}H${r1.toFixed(1)}M${r0.toFixed(1)} ${y + 3}V${y + BAR_H - 3}M${r1.toFixed(1)} ${y + 3}V${y + BAR_H - 3}" stroke="#111" stroke-width="1.5" fill="none"/>`,
          );
          end = Math.max(end, r0, r1);
        }
        // A white halo keeps a label readable where it crosses a grid or reference line.
        body.push(`<text x="${(end + 4).toFixed(1)}" y="${y + BAR_H - 4}" font-size="11" stroke="white" stroke-width="3" paint-order="stroke">${esc(b.label ?? b.value.toFixed(2))}</text>`);
        y += BAR_H + 2;
      }
      y += GAP;
    }
    const bottom = y - GAP + 2;
    // Grid first so the bars are drawn over it.
    for (const t of axis.ticks) {
      const tx = X(t).toFixed(1);
      out.push(`<line x1="${tx}" y1="${top - 2}" x2="${tx}" y2="${bottom}" stroke="#e3e3e3"/>`);
      out.push(`<text x="${tx}" y="${bottom + 12}" font-size="10" fill="#666" text-anchor="middle">${esc(tickText(t))}</text>`);
    }
    out.push(`<line x1="${X(axis.base).toFixed(1)}" y1="${top - 2}" x2="${X(axis.base).toFixed(1)}" y2="${bottom}" stroke="#999"/>`);
    for (const r of refs) {
      const rx = X(r.value).toFixed(1);
      out.push(`<line x1="${rx}" y1="${top - 4}" x2="${rx}" y2="${bottom}" stroke="#444" stroke-dasharray="4 3"/>`);
    }
    out.push(...body);
    y = bottom + 14;
  }
  y += 12;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Math.ceil(y)}" viewBox="0 0 ${W} ${Math.ceil(y)}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${out.join('\n')}\n</svg>\n`;
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
}

/**
 * Writes table.txt, results.json and plot.svg under bench-out/<name>-<time>/ (or `dir`) and returns the
 * folder. A failure to write is reported, never fatal: the figures are already on the terminal.
 */
export function writeBenchReport(name: string, table: string, results: unknown, panels: readonly Panel[], dir?: string): string | null {
  const now = new Date();
  const out = resolve(dir ?? join('bench-out', `${name}-${stamp(now)}`));
  try {
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'table.txt'), table.endsWith('\n') ? table : `${table}\n`);
    writeFileSync(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(out, 'plot.svg'), barChartSvg(`bench:${name}`, panels, `${now.toISOString().replace(/\..*$/, 'Z')}, Node ${process.version}`));
    return out;
  } catch (err) {
    console.error(`could not write the report to ${out}: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
}

/**
 * Console output that is also kept for table.txt: every bench prints through `say` and hands
 * `lines()` to writeBenchReport at the end.
 */
export function createSay(): { say: (line: string) => void; lines: () => string } {
  const printed: string[] = [];
  return {
    say: (line: string): void => {
      console.log(line);
      printed.push(line);
    },
    lines: (): string => printed.join('\n'),
  };
}
