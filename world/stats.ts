// The few statistics the world's table needs: medians and spreads over trials, and a confidence
// interval for the paired difference against the baseline (Student's t, and a bootstrap).
import { Rng } from './random.js';

function sorted(xs: readonly number[]): number[] {
  return [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
}

/** Linear-interpolated quantile (type 7, as R and numpy default); NaN for no data. */
export function quantile(xs: readonly number[], q: number): number {
  const s = sorted(xs);
  if (s.length === 0) return NaN;
  const pos = Math.min(1, Math.max(0, q)) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

export function mean(xs: readonly number[]): number {
  const s = sorted(xs);
  if (s.length === 0) return NaN;
  return s.reduce((a, b) => a + b, 0) / s.length;
}

/** Sample standard deviation (n − 1); NaN below two values. */
export function stddev(xs: readonly number[]): number {
  const s = sorted(xs);
  if (s.length < 2) return NaN;
  const m = mean(s);
  return Math.sqrt(s.reduce((a, x) => a + (x - m) ** 2, 0) / (s.length - 1));
}

export interface Spread {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly q1: number;
  readonly q3: number;
}

export function spread(xs: readonly number[]): Spread {
  const s = sorted(xs);
  return {
    n: s.length,
    median: quantile(s, 0.5),
    min: s.length ? s[0]! : NaN,
    max: s.length ? s[s.length - 1]! : NaN,
    q1: quantile(s, 0.25),
    q3: quantile(s, 0.75),
  };
}

// Two-sided 95% critical values of Student's t for 1..30 degrees of freedom.
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The 97.5% quantile of Student's t with `df` degrees of freedom (table, then large-df approximation). */
export function tCritical95(df: number): number {
  if (!(df >= 1)) return NaN;
  if (df <= 30) return T975[Math.floor(df) - 1]!;
  // Cornish–Fisher style expansion around the normal quantile: within 0.001 for df > 30.
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

export interface Interval {
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
  readonly n: number;
  readonly method: 't' | 'bootstrap' | 'none';
}

/** 95% t interval for the mean of `xs` (e.g. paired differences). With one value the bounds are NaN. */
export function tInterval(xs: readonly number[]): Interval {
  const s = sorted(xs);
  const m = mean(s);
  if (s.length < 2) return { estimate: m, low: NaN, high: NaN, n: s.length, method: 'none' };
  const half = (tCritical95(s.length - 1) * stddev(s)) / Math.sqrt(s.length);
  return { estimate: m, low: m - half, high: m + half, n: s.length, method: 't' };
}

/**
 * 95% percentile-bootstrap interval for the mean of `xs`, resampling with a seeded PRNG so the same
 * results give the same interval. Needs at least two values.
 */
export function bootstrapInterval(xs: readonly number[], seed = 1, rounds = 2000): Interval {
  const s = sorted(xs);
  const m = mean(s);
  if (s.length < 2) return { estimate: m, low: NaN, high: NaN, n: s.length, method: 'none' };
  const rng = new Rng(seed);
  const means = new Float64Array(rounds);
  for (let r = 0; r < rounds; r++) {
    let sum = 0;
    for (let i = 0; i < s.length; i++) sum += s[rng.below(s.length)]!;
    means[r] = sum / s.length;
  }
  const ms = Array.from(means);
  return { estimate: m, low: quantile(ms, 0.025), high: quantile(ms, 0.975), n: s.length, method: 'bootstrap' };
}

/** Differences a[i] − b[i] of paired trials where both are finite. */
export function pairedDifferences(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isFinite(x) && Number.isFinite(y)) out.push(x - y);
  }
  return out;
}
