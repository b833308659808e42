// The end of a world: per algorithm, time to complete (median and spread over trials), bytes down and
// up, the upload/download ratio, and the paired difference against the baseline with a 95% interval.
import { formatBytes } from '../util/units.js';
import { spread, tInterval, bootstrapInterval, pairedDifferences, type Spread, type Interval } from './stats.js';
import type { RunResult, Role } from './run-world.js';

export interface Difference {
  /** Mean of paired differences (algorithm − baseline) over trials where both completed. */
  readonly t: Interval;
  readonly bootstrap: Interval;
  /** The mean difference relative to the baseline's mean, in percent. */
  readonly percent: number;
}

export interface AlgorithmSummary {
  readonly alg: string;
  readonly role: Role;
  readonly runs: number;
  readonly completed: number;
  readonly timeS: Spread;
  readonly downBytes: Spread;
  readonly upBytes: Spread;
  readonly ratio: Spread;
  /** Against the baseline; absent for the baseline itself. */
  readonly vsBaseline?: { readonly timeS: Difference; readonly upBytes: Difference };
}

function byTrial(runs: readonly RunResult[], role: Role, pick: (r: RunResult) => number): number[] {
  const trials = Math.max(0, ...runs.map((r) => r.trial + 1));
  const out: number[] = Array.from({ length: trials }, () => NaN);
  for (const r of runs) if (r.role === role && r.completed) out[r.trial] = pick(r);
  return out;
}

function difference(a: number[], b: number[], seed: number): Difference {
  const d = pairedDifferences(a, b);
  const t = tInterval(d);
  const base = b.filter((x, i) => Number.isFinite(x) && Number.isFinite(a[i]!));
  const baseMean = base.reduce((s, x) => s + x, 0) / (base.length || 1);
  return { t, bootstrap: bootstrapInterval(d, seed), percent: baseMean !== 0 ? (100 * t.estimate) / baseMean : NaN };
}

export function summarize(runs: readonly RunResult[], seed = 1): AlgorithmSummary[] {
  const out: AlgorithmSummary[] = [];
  for (const role of ['alg', 'baseline'] as const) {
    const mine = runs.filter((r) => r.role === role);
    if (mine.length === 0) continue;
    const done = mine.filter((r) => r.completed);
    const summary: AlgorithmSummary = {
      alg: mine[0]!.alg,
      role,
      runs: mine.length,
      completed: done.length,
      timeS: spread(done.map((r) => r.timeMs / 1000)),
      downBytes: spread(done.map((r) => r.downBytes)),
      upBytes: spread(done.map((r) => r.upBytes)),
      ratio: spread(done.map((r) => r.ratio)),
    };
    if (role === 'alg' && runs.some((r) => r.role === 'baseline')) {
      const time = (r: RunResult): number => r.timeMs / 1000;
      const up = (r: RunResult): number => r.upBytes;
      out.push({
        ...summary,
        vsBaseline: {
          timeS: difference(byTrial(runs, 'alg', time), byTrial(runs, 'baseline', time), seed),
          upBytes: difference(byTrial(runs, 'alg', up), byTrial(runs, 'baseline', up), seed + 1),
        },
      });
    } else out.push(summary);
  }
  return out;
}

function fmtNum(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '–';
}

function signed(x: number, fmt: (v: number) => string): string {
  if (!Number.isFinite(x)) return '–';
  return (x > 0 ? '+' : x < 0 ? '−' : '±') + fmt(Math.abs(x));
}

function fmtDiff(d: Difference, fmt: (v: number) => string): string {
  const est = `${signed(d.t.estimate, fmt)} (${signed(d.percent, (v) => v.toFixed(0))}%)`;
  if (d.t.method === 'none') return d.t.n === 0 ? 'n/a (no paired trials)' : `${est}, 1 trial: no interval`;
  return `${est} [${signed(d.t.low, fmt)}, ${signed(d.t.high, fmt)}]`;
}

/** A plain-text table for the terminal. */
export function formatTable(summaries: readonly AlgorithmSummary[]): string {
  const baseline = summaries.find((s) => s.role === 'baseline');
  const header = ['algorithm', 'done', 'time s (median [min–max])', 'down', 'up', 'up/down'];
  if (baseline) header.push(`Δtime vs ${baseline.alg} [95% CI]`, `Δup vs ${baseline.alg} [95% CI]`);
  const rows = summaries.map((s) => {
    const row = [
      `${s.alg}${s.role === 'baseline' ? ' (baseline)' : ''}`,
      `${s.completed}/${s.runs}`,
      `${fmtNum(s.timeS.median)} [${fmtNum(s.timeS.min)}–${fmtNum(s.timeS.max)}]`,
      Number.isFinite(s.downBytes.median) ? formatBytes(s.downBytes.median) : '–',
      Number.isFinite(s.upBytes.median) ? formatBytes(s.upBytes.median) : '–',
      fmtNum(s.ratio.median, 2),
    ];
    if (baseline) {
      if (s.vsBaseline) row.push(fmtDiff(s.vsBaseline.timeS, (v) => `${v.toFixed(1)} s`), fmtDiff(s.vsBaseline.upBytes, formatBytes));
      else row.push('', '');
    }
    return row;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
