// BitTyrant's choice, pure: rank peers by return on investment d_p/u_p and unchoke the best until the
// upload budget (or the slot bound) is spent; keep a few explore slots for peers we know nothing about.

export interface Candidate<K> {
  readonly key: K;
  /** d_p, bytes/s (0 = gives us nothing we know of). */
  readonly downBps: number;
  /** u_p, bytes/s (> 0). */
  readonly upBps: number;
  /** It has what we want but we have no measure of what it gives (discovery candidate). */
  readonly explorable: boolean;
  /** When it was last explored (agent clock, ms): least recent goes first. */
  readonly exploredAtMs: number;
}

export interface Selection<K> {
  /** Regular unchokes and the rate each gets (bytes/s), best return first. */
  readonly regular: { key: K; rateBps: number }[];
  readonly explore: { key: K; rateBps: number }[];
  /** Sum of the rates given. */
  readonly spentBps: number;
}

export interface SelectLimits {
  readonly budgetBps: number;
  readonly slots: number;
  readonly explore: number;
  /** An explore slot gets at most this, and only if at least `minBps` of budget is left. */
  readonly exploreBps: number;
  readonly minBps: number;
}

export function selectUnchokes<K>(candidates: readonly Candidate<K>[], lim: SelectLimits): Selection<K> {
  const ranked = candidates
    .filter((c) => c.downBps > 0 && c.upBps > 0)
    .sort((a, b) => b.downBps / b.upBps - a.downBps / a.upBps || b.downBps - a.downBps);
  const regularSlots = Math.max(0, lim.slots - lim.explore);
  const regular: { key: K; rateBps: number }[] = [];
  const chosen = new Set<K>();
  let spent = 0;
  for (const c of ranked) {
    if (regular.length >= regularSlots) break;
    // One that does not fit is skipped: a cheaper one further down may still fit.
    if (spent + c.upBps > lim.budgetBps) continue;
    regular.push({ key: c.key, rateBps: c.upBps });
    chosen.add(c.key);
    spent += c.upBps;
  }
  const explore: { key: K; rateBps: number }[] = [];
  const pool = candidates.filter((c) => c.explorable && !chosen.has(c.key)).sort((a, b) => a.exploredAtMs - b.exploredAtMs);
  for (const c of pool) {
    if (explore.length >= lim.explore || regular.length + explore.length >= lim.slots) break;
    const left = lim.budgetBps - spent;
    if (left < lim.minBps) break;
    const rate = Math.min(lim.exploreBps, c.upBps, left);
    explore.push({ key: c.key, rateBps: rate });
    spent += rate;
  }
  return { regular, explore, spentBps: spent };
}
