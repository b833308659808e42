// tyrant inside the real agent, steering a real ControlHost that runs its DSL program (live-harness.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { LiveHarness, waitFor, type ScriptedFlow } from './live-harness.js';

let h: LiveHarness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

function wants(f: ScriptedFlow, rateIn: number, choking: boolean): void {
  f.set('peer_interested', true);
  f.set('am_interested', true);
  f.set('peer_choking', choking);
  f.set('rate_in', rateIn);
}

describe('tyrant in the agent, against the datapath control plane', () => {
  it('installs its program, ranks the peers from their reports and enforces Rate/Choke per flow', async () => {
    h = new LiveHarness(['budget=70k', 'start=30k', 'explore=0', 'slots=4', 'report=50', 'round=200']);
    const [a, b, c, d] = [h.addFlow(), h.addFlow(), h.addFlow(), h.addFlow()] as [ScriptedFlow, ScriptedFlow, ScriptedFlow, ScriptedFlow];
    wants(a, 80_000, false);
    wants(b, 40_000, false);
    wants(c, 10_000, false);
    wants(d, 0, true);
    // The program (compiled by the datapath) reports; the swarm hook decides; the datapath applies.
    await waitFor(() => a.unchoked && b.unchoked && c.controls?.choke === true && d.controls?.choke === true, 5000, 'a, b unchoked and c, d choked');
    expect(a.controls!.rateBps).toBe(30_000);
    expect(b.controls!.rateBps).toBe(30_000);
    expect(h.agent.stats.reports).toBeGreaterThan(0);
    expect(h.agent.stats.algorithmFailures).toBe(0);

    // c now gives far more than b: it takes b's place.
    c.set('rate_in', 70_000);
    await waitFor(() => a.unchoked && c.unchoked && b.controls?.choke === true, 5000, 'c to replace b');
    expect(h.logs.filter((l) => /threw|failed/.test(l))).toEqual([]);
  });

  it('raises the Rate of a served peer that chokes us, round after round', async () => {
    h = new LiveHarness(['budget=200k', 'start=20k', 'explore=0', 'report=50', 'round=150', 'raise=1.5']);
    const a = h.addFlow();
    wants(a, 50_000, false);
    await waitFor(() => a.unchoked, 5000, 'a unchoked');
    expect(a.controls!.rateBps).toBe(20_000);
    a.set('peer_choking', true);
    a.set('rate_in', 0);
    h.stateChange(a);
    await waitFor(() => (a.controls?.rateBps ?? 0) >= 45_000, 5000, 'two raises ×1.5');
    expect(a.unchoked).toBe(true);
  });

  it('reciprocates at once (between rounds) a peer that unchokes us', async () => {
    h = new LiveHarness(['budget=100k', 'start=25k', 'explore=0', 'report=1000', 'round=600000']);
    const a = h.addFlow();
    a.set('peer_interested', true);
    h.stateChange(a);
    await waitFor(() => a.controls !== null, 5000, 'the program to run');
    expect(a.unchoked).toBe(false);
    a.set('am_interested', true);
    a.set('peer_choking', false);
    a.set('rate_in', 30_000);
    h.stateChange(a);
    await waitFor(() => a.unchoked, 2000, 'a unchoked on its state change');
    expect(a.controls!.rateBps).toBe(25_000);
  });

  it('seeds least-served first at seedTotal split over seedSlots', async () => {
    h = new LiveHarness(['seedTotal=60k', 'seedSlots=2', 'report=50', 'round=200']);
    const flows = Array.from({ length: 4 }, () => h!.addFlow());
    h.setSeeding(true);
    flows.forEach((f, i) => {
      f.set('peer_interested', true);
      f.set('bytes_sent', (4 - i) * 100_000);
    });
    await waitFor(() => flows[2]!.unchoked && flows[3]!.unchoked && flows[0]!.controls?.choke === true && flows[1]!.controls?.choke === true, 5000, 'the two least-served unchoked');
    expect(flows[3]!.controls!.rateBps).toBe(30_000);
  });
});
