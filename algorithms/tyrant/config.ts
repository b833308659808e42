// tyrant's `--set` settings: read once, checked together, every default documented here and in
// docs/tyrant.md. Rates are bytes/s ("64k"), times are ms, factors are plain numbers.
import type { Params } from '../../agent/api.js';

export interface TyrantConfig {
  /** Upload we spend on unchoked peers while downloading (bytes/s, summed over peers). */
  readonly budgetBps: number;
  /** At most this many peers unchoked at once (regular + explore). */
  readonly slots: number;
  /** Slots kept for peers we know nothing about yet (BitTyrant's discovery; 0 = none). */
  readonly explore: number;
  /** u_p for a peer we have no estimate of (bytes/s). */
  readonly startBps: number;
  /** u_p never goes below this (a cap of 0 would mean "no cap"). */
  readonly minBps: number;
  /** u_p never goes above this (0 = the budget). */
  readonly maxBps: number;
  /** u_p ×= trim after `trimAfter` rounds in which the peer kept unchoking us. */
  readonly trim: number;
  /** u_p ×= raise after a round in which we unchoked the peer and it choked us. */
  readonly raise: number;
  readonly trimAfter: number;
  /** One decision round (re-rank, trim, raise), ms. */
  readonly roundMs: number;
  /** The DSL program reports this often (and on every choke/interest change), ms. */
  readonly reportMs: number;
  /** Unchoke slots a peer is assumed to split its upload over (to estimate d_p from its HAVEs). */
  readonly peerSlots: number;
  /** While seeding: total upload, split evenly among `seedSlots` least-served peers (bytes/s). */
  readonly seedTotalBps: number;
  readonly seedSlots: number;
  /** Log every round's decision (which peers, at what Rate, d_p of each). */
  readonly trace: boolean;
}

export const TYRANT_DEFAULTS = {
  budget: 64_000,
  slots: 6,
  explore: 1,
  start: 16_000,
  min: 4_000,
  max: 0,
  trim: 0.9,
  raise: 1.2,
  trimAfter: 3,
  round: 3_000,
  report: 1_000,
  peerSlots: 5,
  seedTotal: 64_000,
  seedSlots: 4,
} as const;

/** Reads and checks every setting; throws an Error naming each bad one. */
export function readTyrantConfig(params: Params): TyrantConfig {
  const d = TYRANT_DEFAULTS;
  const problems: string[] = [];
  const num = (key: string, fallback: number, ok: (v: number) => boolean, want: string): number => {
    let v: number;
    try {
      v = params.number(key, fallback);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
      return fallback;
    }
    if (!ok(v)) problems.push(`--set ${key}=${v}: ${want}`);
    return v;
  };
  const rate = (key: string, fallback: number, ok: (v: number) => boolean, want: string): number => {
    let v: number;
    try {
      v = params.rate(key, fallback);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
      return fallback;
    }
    if (!ok(v)) problems.push(`--set ${key}=${v}: ${want}`);
    return v;
  };
  const flag = (key: string, fallback: boolean): boolean => {
    try {
      return params.bool(key, fallback);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
      return fallback;
    }
  };
  const positive = (v: number): boolean => v > 0;
  const count = (lo: number) => (v: number): boolean => Number.isInteger(v) && v >= lo && v <= 1000;

  const cfg: TyrantConfig = {
    budgetBps: rate('budget', d.budget, positive, 'the upload budget must be above 0'),
    slots: num('slots', d.slots, count(1), 'must be a whole number 1..1000'),
    explore: num('explore', d.explore, count(0), 'must be a whole number 0..1000'),
    startBps: rate('start', d.start, positive, 'must be above 0'),
    minBps: rate('min', d.min, positive, 'must be above 0 (a Rate of 0 would mean no cap)'),
    maxBps: rate('max', d.max, (v) => v >= 0, 'must be 0 (= the budget) or more'),
    trim: num('trim', d.trim, (v) => v > 0 && v < 1, 'must be between 0 and 1'),
    raise: num('raise', d.raise, (v) => v > 1 && v <= 10, 'must be above 1 (and at most 10)'),
    trimAfter: num('trimAfter', d.trimAfter, count(1), 'must be a whole number of rounds 1..1000'),
    roundMs: num('round', d.round, (v) => v >= 10 && v <= 600_000, 'must be 10..600000 ms'),
    reportMs: num('report', d.report, (v) => v >= 10 && v <= 60_000, 'must be 10..60000 ms'),
    peerSlots: num('peerSlots', d.peerSlots, count(1), 'must be a whole number 1..1000'),
    seedTotalBps: rate('seedTotal', d.seedTotal, positive, 'must be above 0'),
    seedSlots: num('seedSlots', d.seedSlots, count(1), 'must be a whole number 1..1000'),
    trace: flag('trace', false),
  };
  if (cfg.explore >= cfg.slots && problems.length === 0) problems.push(`--set explore=${cfg.explore} leaves no regular slot of slots=${cfg.slots}`);
  if (cfg.maxBps > 0 && cfg.maxBps < cfg.minBps) problems.push(`--set max=${cfg.maxBps} is below min=${cfg.minBps}`);
  if (problems.length > 0) throw new Error(`tyrant: ${problems.join('; ')}`);
  return cfg;
}

/** The largest u_p may grow to. */
export function upperBps(cfg: TyrantConfig): number {
  return cfg.maxBps > 0 ? Math.min(cfg.maxBps, cfg.budgetBps) : cfg.budgetBps;
}
