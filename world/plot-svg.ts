// A hand-written SVG of my client over time: completion (top) and upload rate (bottom), one line per
// run, coloured by algorithm. No dependency: the format is simple enough to write directly.
import type { RunResult } from './run-world.js';

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const W = 760;
const PANEL_H = 220;
const M = { left: 70, right: 20, top: 30, bottom: 40 };

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Upload rate per sample: the reported rate, or the slope of uploaded bytes when none is reported. */
export function uploadRates(r: RunResult): { tMs: number; bps: number }[] {
  const s = r.samples;
  const reported = s.some((x) => x.upBps > 0);
  return s.map((x, i) => {
    if (reported || i === 0) return { tMs: x.tMs, bps: reported ? x.upBps : 0 };
    const prev = s[i - 1]!;
    const dt = (x.tMs - prev.tMs) / 1000;
    return { tMs: x.tMs, bps: dt > 0 ? Math.max(0, (x.upBytes - prev.upBytes) / dt) : 0 };
  });
}

function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function fmtRate(bps: number): string {
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} MB/s`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(0)} kB/s`;
  return `${bps.toFixed(0)} B/s`;
}

interface Series {
  color: string;
  points: { x: number; y: number }[];
}

function panel(y0: number, title: string, xMax: number, yMax: number, yLabel: (v: number) => string, series: Series[]): string {
  const pw = W - M.left - M.right;
  const ph = PANEL_H - M.top - M.bottom;
  const top = y0 + M.top;
  const sx = (x: number): number => M.left + (pw * x) / xMax;
  const sy = (y: number): number => top + ph - (ph * Math.min(y, yMax)) / yMax;
  const out: string[] = [];
  out.push(`<text x="${M.left}" y="${y0 + 18}" font-size="14" font-weight="bold">${esc(title)}</text>`);
  out.push(`<rect x="${M.left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const y = sy(v);
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 6}" y="${(y + 4).toFixed(1)}" font-size="11" text-anchor="end">${esc(yLabel(v))}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const v = (xMax * i) / 5;
    out.push(`<text x="${sx(v).toFixed(1)}" y="${top + ph + 16}" font-size="11" text-anchor="middle">${v.toFixed(v < 10 ? 1 : 0)} s</text>`);
  }
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.6" stroke-opacity="0.85" points="${d}"/>`);
  }
  return out.join('\n');
}

export function plotRuns(runs: readonly RunResult[], title: string): string {
  const algs = [...new Set(runs.map((r) => r.alg))];
  const color = (alg: string): string => COLORS[algs.indexOf(alg) % COLORS.length]!;
  const xMax = niceMax(Math.max(1, ...runs.flatMap((r) => r.samples.map((s) => s.tMs / 1000))));
  const rates = runs.map(uploadRates);
  const rMax = niceMax(Math.max(1, ...rates.flat().map((p) => p.bps)));
  const completion = runs.map((r) => ({ color: color(r.alg), points: r.samples.map((s) => ({ x: s.tMs / 1000, y: s.fraction * 100 })) }));
  const upload = runs.map((r, i) => ({ color: color(r.alg), points: rates[i]!.map((p) => ({ x: p.tMs / 1000, y: p.bps })) }));
  const H = 2 * PANEL_H + 50;
  const legend = algs
    .map((a, i) => {
      const x = M.left + i * 190;
      return `<line x1="${x}" x2="${x + 24}" y1="${H - 18}" y2="${H - 18}" stroke="${color(a)}" stroke-width="3"/><text x="${x + 30}" y="${H - 14}" font-size="12">${esc(a)}</text>`;
    })
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<title>${esc(title)}</title>`,
    panel(0, `My client's completion — ${title}`, xMax, 100, (v) => `${v.toFixed(0)}%`, completion),
    panel(PANEL_H, "My client's upload rate", xMax, rMax, fmtRate, upload),
    legend,
    '</svg>',
    '',
  ].join('\n');
}
