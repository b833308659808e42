// tyrant's decisions, round by round, through its real flow and swarm classes driven as the agent
// drives them (see direct-harness.ts): which peers it unchokes, at what Rate, how u_p is trimmed and raised.
import { describe, expect, it } from 'vitest';
import { DirectHarness, PIECE_LENGTH } from './direct-harness.js';
import type { TyrantFlow, TyrantReport } from '../../algorithms/tyrant.js';

const WANTS = { interested: 1, am_interested: 1 } as const;

function changes(entries: [TyrantFlow, Partial<TyrantReport>][]): Map<TyrantFlow, Partial<TyrantReport>> {
  return new Map(entries);
}

describe('tyrant: who is unchoked', () => {
  it('ranks by d_p/u_p and stops when the budget is spent; a peer that gives nothing stays choked', () => {
    const h = new DirectHarness({ budget: '70k', start: '30k', explore: '0', slots: '4' });
    const [a, b, c, d] = [h.addFlow(), h.addFlow(), h.addFlow(), h.addFlow()] as [TyrantFlow, TyrantFlow, TyrantFlow, TyrantFlow];
    // Nobody is unchoked before anything is known.
    expect(h.handle(a).last('Choke')).toBe(1);
    h.round(5000, changes([
      [a, { ...WANTS, choking: 0, rate_in: 80_000 }],
      [b, { ...WANTS, choking: 0, rate_in: 40_000 }],
      [c, { ...WANTS, choking: 0, rate_in: 10_000 }],
      [d, { ...WANTS, choking: 1 }],
    ]));
    expect(h.unchoked()).toEqual([a, b]);
    expect(h.handle(a).last('Rate')).toBe(30_000);
    expect(h.handle(b).last('Rate')).toBe(30_000);
    expect(h.handle(c).last('Choke')).toBe(1);
    expect(h.handle(d).last('Choke')).toBe(1);

    // C starts giving more than B: it takes B's place at the next round.
    h.round(5000, changes([[c, { rate_in: 60_000 }]]));
    expect(h.unchoked()).toEqual([a, c]);
  });

  it('a bigger budget buys more peers, never more than `slots`', () => {
    const h = new DirectHarness({ budget: '1M', start: '30k', explore: '0', slots: '3' });
    const flows = Array.from({ length: 6 }, () => h.addFlow());
    h.round(5000, new Map(flows.map((f, i) => [f, { ...WANTS, choking: 0, rate_in: 10_000 * (i + 1) }])));
    expect(h.unchoked()).toEqual(flows.slice(3));
  });

  it('a peer that has nothing we want is not served while we download, even with budget to spare', () => {
    const h = new DirectHarness({ budget: '1M', explore: '1' });
    const f = h.addFlow();
    h.round(5000, changes([[f, { interested: 1, am_interested: 0, choking: 0, rate_in: 50_000 }]]));
    h.round(5000);
    expect(h.unchoked()).toEqual([]);
  });

  it('the explore slot rotates over peers it has no measure of, least recently explored first', () => {
    const h = new DirectHarness({ budget: '100k', start: '20k', explore: '1', slots: '4' });
    const [e1, e2, e3] = [h.addFlow(), h.addFlow(), h.addFlow()] as [TyrantFlow, TyrantFlow, TyrantFlow];
    h.round(5000, new Map([e1, e2, e3].map((f) => [f, { ...WANTS }])));
    expect(h.unchoked()).toEqual([e1]);
    h.round(5000);
    expect(h.unchoked()).toEqual([e2]);
    h.round(5000);
    expect(h.unchoked()).toEqual([e3]);
    h.round(5000);
    expect(h.unchoked()).toEqual([e1]);
  });

  it('d_p of a peer that never unchoked us comes from its HAVE rate split over its slots', () => {
    const h = new DirectHarness({ budget: '100k', start: '30k', explore: '0', slots: '4', peerSlots: '5' });
    const [fast, slow] = [h.addFlow(), h.addFlow()] as [TyrantFlow, TyrantFlow];
    h.round(1000, changes([[fast, { ...WANTS, pieces: 0 }], [slow, { ...WANTS, pieces: 0 }]]));
    // 20 pieces in 4 s = 327,680 B/s for `fast`; 4 pieces for `slow`.
    h.round(4000, changes([[fast, { pieces: 20 }], [slow, { pieces: 4 }]]));
    expect(fast.peerDownBps).toBeCloseTo((20 * PIECE_LENGTH) / 4, 0);
    expect(fast.downEstimateBps()).toBeCloseTo((20 * PIECE_LENGTH) / 4 / 5, 0);
    expect(slow.downEstimateBps()).toBeCloseTo((4 * PIECE_LENGTH) / 4 / 5, 0);
    expect(fast.downEstimateBps() / fast.upNeedBps()).toBeGreaterThan(slow.downEstimateBps() / slow.upNeedBps());
  });
});

describe('tyrant: how u_p moves', () => {
  it('trims u_p ×0.9 each round once a peer has reciprocated for trimAfter rounds, down to min', () => {
    const h = new DirectHarness({ budget: '100k', start: '30k', min: '20k', explore: '0', trimAfter: '3', trim: '0.9' });
    const a = h.addFlow();
    h.round(5000, changes([[a, { ...WANTS, choking: 0, rate_in: 50_000 }]]));
    for (let i = 0; i < 8; i++) h.round();
    // Unchoked at 30k; rounds 1-2 of reciprocation change nothing, the 3rd and later trim.
    expect(h.handle(a).rates()).toEqual([30_000, 27_000, 24_300, 21_870, 20_000]);
    expect(a.trims).toBeGreaterThanOrEqual(4);
    expect(h.unchoked()).toEqual([a]);
  });

  it('raises u_p ×1.2 each round a served peer chokes us, up to the budget', () => {
    const h = new DirectHarness({ budget: '100k', start: '30k', explore: '0', raise: '1.2' });
    const a = h.addFlow();
    h.round(5000, changes([[a, { ...WANTS, choking: 0, rate_in: 50_000 }]]));
    h.round(5000, changes([[a, { choking: 1, rate_in: 0 }]]));
    for (let i = 0; i < 8; i++) h.round();
    expect(h.handle(a).rates()).toEqual([30_000, 36_000, 43_200, 51_840, 62_208, 74_650, 89_580, 100_000]);
    expect(a.raises).toBeGreaterThanOrEqual(7);
  });

  it('a peer unchoked only just now is not judged on that round', () => {
    const h = new DirectHarness({ budget: '100k', start: '30k', explore: '0' });
    const a = h.addFlow();
    h.round(5000, changes([[a, { ...WANTS, choking: 1 }]]));
    // Unchoked at once (a free slot, it has what we want), then choked at the round (d_p unknown, no explore slot).
    expect(a.raises).toBe(0);
    expect(h.handle(a).last('Choke')).toBe(1);
  });

  it('a reciprocating peer that later chokes us is raised, then trimmed again once it comes back', () => {
    const h = new DirectHarness({ budget: '200k', start: '40k', explore: '0', trimAfter: '1' });
    const a = h.addFlow();
    h.round(5000, changes([[a, { ...WANTS, choking: 0, rate_in: 60_000 }]]));
    h.round(5000);
    h.round(5000, changes([[a, { choking: 1 }]]));
    h.round(5000, changes([[a, { choking: 0 }]]));
    expect(h.handle(a).rates()).toEqual([40_000, 36_000, 43_200, 38_880]);
  });
});

describe('tyrant: between rounds', () => {
  it('reciprocates at once a peer that unchokes us, if a slot and budget are free', () => {
    const h = new DirectHarness({ budget: '60k', start: '30k', explore: '0', round: '600000' });
    const [a, b, c] = [h.addFlow(), h.addFlow(), h.addFlow()] as [TyrantFlow, TyrantFlow, TyrantFlow];
    h.report(a, { interested: 1, am_interested: 0 });
    expect(h.unchoked()).toEqual([]);
    h.report(a, { choking: 0, rate_in: 10_000, am_interested: 1 });
    expect(h.unchoked()).toEqual([a]);
    h.report(b, { ...WANTS, choking: 0, rate_in: 10_000 });
    expect(h.unchoked()).toEqual([a, b]);
    // The budget (60k) is spent: c waits for the round.
    h.report(c, { ...WANTS, choking: 0, rate_in: 90_000 });
    expect(h.unchoked()).toEqual([a, b]);
  });

  it('a peer that unchokes us takes the place of served peers that do not (worst return first)', () => {
    const h = new DirectHarness({ budget: '60k', start: '30k', explore: '0', round: '600000' });
    const [a, b, c] = [h.addFlow(), h.addFlow(), h.addFlow()] as [TyrantFlow, TyrantFlow, TyrantFlow];
    h.report(a, { ...WANTS, choking: 1 });
    h.report(b, { ...WANTS, choking: 0, rate_in: 20_000 });
    expect(h.unchoked()).toEqual([a, b]);
    // c unchokes us: a (serving it gets us nothing so far) makes room; b, which gives, stays.
    h.report(c, { ...WANTS, choking: 0, rate_in: 5_000 });
    expect(h.unchoked()).toEqual([b, c]);
    // A newly interested peer that does not unchoke us evicts nobody.
    h.report(a, { interested: 0 });
    h.report(a, { interested: 1 });
    expect(h.unchoked()).toEqual([b, c]);
  });

  it('chokes at once a peer that stops being interested, freeing its share', () => {
    const h = new DirectHarness({ budget: '30k', start: '30k', explore: '0', round: '600000' });
    const [a, b] = [h.addFlow(), h.addFlow()] as [TyrantFlow, TyrantFlow];
    h.report(a, { ...WANTS, choking: 0, rate_in: 10_000 });
    h.report(b, { ...WANTS, choking: 0, rate_in: 10_000 });
    expect(h.unchoked()).toEqual([a]);
    h.report(a, { interested: 0 });
    expect(h.unchoked()).toEqual([]);
    h.report(b, { choking: 1 });
    h.report(b, { choking: 0 });
    expect(h.unchoked()).toEqual([b]);
  });
});

describe('tyrant: seeding', () => {
  it('serves the least-served interested peers in turn, seedTotal split over seedSlots', () => {
    const h = new DirectHarness({ seedTotal: '50k', seedSlots: '2' });
    const flows = Array.from({ length: 5 }, () => h.addFlow());
    h.stats = { rate_out: 0, rate_in: 0, peers: 5, unchoked: 0, left_bytes: 0, seeding: true, timeUs: 0 };
    h.round(5000, new Map(flows.map((f, i) => [f, { interested: 1, seeding: 1, bytes_sent: (5 - i) * 100_000 }])));
    expect(h.unchoked()).toEqual([flows[3], flows[4]]);
    expect(h.handle(flows[4]!).last('Rate')).toBe(25_000);
    // They got served; the next least-served take their turn.
    h.round(5000, changes([[flows[3]!, { bytes_sent: 900_000 }], [flows[4]!, { bytes_sent: 900_000 }]]));
    expect(h.unchoked()).toEqual([flows[1], flows[2]]);
  });

  it('turns to seeding at once when a report says the download completed', () => {
    const h = new DirectHarness({ budget: '100k', start: '30k', explore: '0', seedTotal: '40k', seedSlots: '4', round: '600000' });
    const [a, b] = [h.addFlow(), h.addFlow()] as [TyrantFlow, TyrantFlow];
    h.report(a, { ...WANTS, choking: 0, rate_in: 50_000 });
    h.report(b, { interested: 1, am_interested: 0 });
    expect(h.unchoked()).toEqual([a]);
    h.report(b, { seeding: 1 });
    expect(h.unchoked()).toEqual([a, b]);
    expect(h.handle(b).last('Rate')).toBe(20_000);
  });
});
