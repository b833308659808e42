// Distributions the user sets for the world: upload caps (`uniform:50k-200k`, `fixed:100k`,
// `choice:20k,50k,1M`) and starting stages (`uniform:0-0.9`, `choice:0,0.25,0.5,0.9`).
import type { Rng } from './random.js';

export type Distribution =
  | { readonly kind: 'fixed'; readonly value: number }
  | { readonly kind: 'uniform'; readonly min: number; readonly max: number }
  | { readonly kind: 'choice'; readonly values: readonly number[] };

/** Turns one value's text into a number, or throws an Error naming the problem. */
export type ValueParser = (text: string) => number;

export interface DistributionRules {
  /** What the distribution is for, used in error messages ("--upload"). */
  readonly what: string;
  readonly parse: ValueParser;
  readonly min?: number;
  readonly max?: number;
  /** True when `max` itself is not allowed (a stage of 1 is a seed: use --seeds). */
  readonly maxExclusive?: boolean;
}

function checkRange(v: number, rules: DistributionRules, text: string): number {
  if (!Number.isFinite(v)) throw new Error(`${rules.what}: '${text}' is not a finite number`);
  if (rules.min !== undefined && v < rules.min) throw new Error(`${rules.what}: ${text} is below the minimum ${rules.min}`);
  if (rules.max !== undefined && (rules.maxExclusive ? v >= rules.max : v > rules.max)) {
    throw new Error(`${rules.what}: ${text} must be ${rules.maxExclusive ? 'below' : 'at most'} ${rules.max}`);
  }
  return v;
}

function value(text: string, rules: DistributionRules): number {
  const t = text.trim();
  if (t === '') throw new Error(`${rules.what}: an empty value`);
  let v: number;
  try {
    v = rules.parse(t);
  } catch (err) {
    throw new Error(`${rules.what}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return checkRange(v, rules, t);
}

const FORMS = "expected fixed:X, uniform:A-B or choice:A,B,C";

/** Parses "kind:args"; a bare value means fixed. Throws an Error naming the problem. */
export function parseDistribution(text: string, rules: DistributionRules): Distribution {
  const src = String(text).trim();
  if (src === '') throw new Error(`${rules.what}: empty distribution (${FORMS})`);
  const colon = src.indexOf(':');
  if (colon < 0) return { kind: 'fixed', value: value(src, rules) };
  const kind = src.slice(0, colon).trim().toLowerCase();
  const args = src.slice(colon + 1);
  switch (kind) {
    case 'fixed':
      return { kind: 'fixed', value: value(args, rules) };
    case 'uniform': {
      // Values are non-negative, so the first '-' separates them.
      const dash = args.indexOf('-');
      if (dash < 0) throw new Error(`${rules.what}: uniform needs a range A-B, got '${args}'`);
      const min = value(args.slice(0, dash), rules);
      const max = value(args.slice(dash + 1), rules);
      if (max < min) throw new Error(`${rules.what}: uniform range ${args} runs backwards (A must be ≤ B)`);
      return { kind: 'uniform', min, max };
    }
    case 'choice': {
      const parts = args.split(',');
      if (parts.length === 0 || parts.every((p) => p.trim() === '')) throw new Error(`${rules.what}: choice needs at least one value`);
      return { kind: 'choice', values: parts.map((p) => value(p, rules)) };
    }
    default:
      throw new Error(`${rules.what}: unknown distribution '${kind}' (${FORMS})`);
  }
}

export function sampleDistribution(d: Distribution, rng: Rng): number {
  switch (d.kind) {
    case 'fixed':
      return d.value;
    case 'uniform':
      return d.min === d.max ? d.min : rng.between(d.min, d.max);
    case 'choice':
      return rng.pick(d.values);
  }
}

/** The text form, which parses back to the same distribution. */
export function formatDistribution(d: Distribution, fmt: (v: number) => string = String): string {
  switch (d.kind) {
    case 'fixed':
      return `fixed:${fmt(d.value)}`;
    case 'uniform':
      return `uniform:${fmt(d.min)}-${fmt(d.max)}`;
    case 'choice':
      return `choice:${d.values.map(fmt).join(',')}`;
  }
}

/** A fraction in [0, 1]: "0.25" or "25%". */
export function parseFraction(text: string): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)(%?)$/.exec(text.trim());
  if (!m) throw new Error(`'${text}' is not a fraction (like 0.25 or 25%)`);
  const v = Number(m[1]) / (m[2] ? 100 : 1);
  return v;
}
