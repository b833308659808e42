// tyrant's swarm-level hook: every round it learns from the last one (trim u_p of peers that kept
// reciprocating, raise it for those that choked us anyway), then unchokes the best d_p/u_p peers until
// the budget is spent, each at just its u_p. Between rounds it reciprocates at once a peer that has just
// unchoked us, if budget and a slot are free. Seeding: least-served round robin at a modest total.
import { SwarmPolicy, type TorrentView } from '../../agent/api.js';
import { readTyrantConfig, type TyrantConfig } from './config.js';
import type { TyrantFlow } from './flow.js';
import { selectUnchokes, type Candidate } from './select.js';

export class TyrantSwarm extends SwarmPolicy<TyrantFlow> {
  readonly cfg: TyrantConfig = this.shared('tyrant.config', () => readTyrantConfig(this.params));
  override tickMs = this.cfg.roundMs;
  private roundStartMs = -Infinity;
  private wasSeeding = false;
  /** Rounds decided so far (for logs and tests). */
  rounds = 0;

  override onTick(t: TorrentView<TyrantFlow>): void {
    this.round(t);
  }

  override onReport(flow: TyrantFlow, t: TorrentView<TyrantFlow>): void {
    const seeding = this.isSeeding(t);
    if (seeding !== this.wasSeeding) return this.round(t); // downloading ↔ seeding: decide afresh now
    if (!flow.flagsChanged) return;
    if (!flow.peerInterested) {
      if (!flow.choked) flow.choke(); // it takes nothing; its share of the budget goes to the next round
      return;
    }
    if (!flow.choked || seeding || !flow.amInterested) return;
    // It has what we want and wants ours: serve it now if it fits. One that is unchoking us is worth
    // more than any unchoked peer that is not: those make room for it (worst return first).
    const up = flow.upNeedBps();
    let { count, spentBps } = this.unchokedNow(t);
    const fits = (): boolean => count < this.cfg.slots && spentBps + up <= this.cfg.budgetBps;
    const evict: TyrantFlow[] = [];
    if (!fits() && !flow.peerChoking) {
      const idle = t.flows
        .filter((f) => f !== flow && !f.choked && f.peerChoking)
        .sort((a, b) => Number(b.exploring) - Number(a.exploring) || a.downEstimateBps() / a.upNeedBps() - b.downEstimateBps() / b.upNeedBps());
      for (const f of idle) {
        if (fits()) break;
        evict.push(f);
        count--;
        spentBps -= f.rateBps;
      }
    }
    if (!fits()) return;
    for (const f of evict) f.choke();
    flow.unchoke(up, t.nowMs, false);
    if (this.cfg.trace) {
      const why = flow.peerChoking ? 'newly interested' : 'it unchokes us';
      this.log(`unchoke ${flow.info.peerAddress} at once at ${Math.round(up)} B/s (${why})${evict.length ? `, choking ${evict.map((f) => f.info.peerAddress).join(' ')}` : ''}`);
    }
  }

  /** One decision round (also run at once when we start or stop seeding). */
  round(t: TorrentView<TyrantFlow>): void {
    const now = t.nowMs;
    const known = t.flows.filter((f) => f.lastReport !== null);
    const seeding = this.isSeeding(t);
    if (seeding === this.wasSeeding) for (const f of known) f.endRound(this.roundStartMs);
    this.wasSeeding = seeding;
    this.roundStartMs = now;
    this.rounds++;
    if (seeding) return this.seedRound(known, now);

    const candidates: Candidate<TyrantFlow>[] = known
      .filter((f) => f.peerInterested)
      .map((f) => ({
        key: f,
        downBps: f.downEstimateBps(),
        upBps: f.upNeedBps(),
        explorable: f.amInterested && f.recipBps === 0,
        exploredAtMs: f.exploredAtMs,
      }));
    const pick = selectUnchokes(candidates, {
      budgetBps: this.cfg.budgetBps,
      slots: this.cfg.slots,
      explore: this.cfg.explore,
      exploreBps: this.cfg.startBps,
      minBps: this.cfg.minBps,
    });
    const keep = new Set<TyrantFlow>();
    for (const { key, rateBps } of pick.regular) {
      key.unchoke(rateBps, now, false);
      keep.add(key);
    }
    for (const { key, rateBps } of pick.explore) {
      key.unchoke(rateBps, now, true);
      keep.add(key);
    }
    for (const f of known) if (!keep.has(f)) f.choke();
    if (this.cfg.trace) {
      const show = (l: { key: TyrantFlow; rateBps: number }[]): string =>
        l.map(({ key, rateBps }) => `${key.info.peerAddress}@${Math.round(rateBps / 1000)}k(d=${Math.round(key.downEstimateBps() / 1000)}k)`).join(' ');
      this.log(`round ${this.rounds}: ${pick.regular.length} regular [${show(pick.regular)}] explore [${show(pick.explore)}] spent ${Math.round(pick.spentBps / 1000)}k of ${Math.round(this.cfg.budgetBps / 1000)}k`);
    }
  }

  private seedRound(known: readonly TyrantFlow[], now: number): void {
    // Least served first: a round-robin share of a modest total, like a standard seeder but capped.
    const order = known
      .filter((f) => f.peerInterested)
      .sort((a, b) => (a.lastReport?.bytes_sent ?? 0) - (b.lastReport?.bytes_sent ?? 0))
      .slice(0, this.cfg.seedSlots);
    const each = Math.max(this.cfg.minBps, Math.floor(this.cfg.seedTotalBps / Math.max(1, order.length)));
    const keep = new Set(order);
    for (const f of order) f.unchoke(each, now, false);
    for (const f of known) if (!keep.has(f)) f.choke();
  }

  private isSeeding(t: TorrentView<TyrantFlow>): boolean {
    if (t.stats?.seeding) return true;
    return t.flows.some((f) => f.seeding);
  }

  private unchokedNow(t: TorrentView<TyrantFlow>): { count: number; spentBps: number } {
    let count = 0;
    let spentBps = 0;
    for (const f of t.flows) {
      if (f.choked) continue;
      count++;
      spentBps += f.rateBps;
    }
    return { count, spentBps };
  }
}
