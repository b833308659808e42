// The benchmarks' report: a table, the figures as JSON and a bar chart as SVG, in one folder.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { barChartSvg, writeBenchReport, type Panel } from '../../bench/report.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const panels: Panel[] = [
  {
    title: 'throughput <MB/s>',
    groups: [
      { name: '1 → 1', bars: [{ series: 'ccp-bt', value: 344.1 }, { series: 'aria2', value: 60.6 }] },
      { name: '1 → 8', bars: [{ series: 'ccp-bt', value: 216.9 }, { series: 'aria2', value: Number.NaN, label: 'n/a' }] },
    ],
  },
];

describe('bench report', () => {
  it('draws one bar per value, escapes text, and survives values that are not numbers', () => {
    const svg = barChartSvg('bench:"x" & y', panels);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('bench:&quot;x&quot; &amp; y');
    expect(svg).toContain('throughput &lt;MB/s&gt;');
    expect(svg).not.toMatch(/NaN|Infinity/);
    for (const label of ['344.10', '60.60', '216.90', 'n/a']) expect(svg).toContain(label);
  });

  it('writes table.txt, results.json and plot.svg into the folder it returns', () => {
    const base = mkdtempSync(join(tmpdir(), 'ccp-bt-report-'));
    dirs.push(base);
    const out = writeBenchReport('unit', 'a | b\n1 | 2', { x: 1 }, panels, join(base, 'r'));
    expect(out).toBe(join(base, 'r'));
    expect(readFileSync(join(out!, 'table.txt'), 'utf8')).toBe('a | b\n1 | 2\n');
    expect(JSON.parse(readFileSync(join(out!, 'results.json'), 'utf8'))).toEqual({ x: 1 });
    expect(existsSync(join(out!, 'plot.svg'))).toBe(true);
  });
});
