// The built-in algorithms and the example, each run by the real Agent through the real ControlHost
// (in-process transport, codec included) on flows whose measurements the test sets.
import { afterEach, describe, expect, it } from 'vitest';
import { ControlHost } from '../../datapath/control/control-host.js';
import { Agent } from '../../agent/agent.js';
import type { AlgorithmModule } from '../../agent/api.js';
import { loadAlgorithm } from '../../agent/load-algorithm.js';
import { createInprocAgentServer } from '../../protocol/inproc-transport.js';
import { FLOW, TORRENT } from '../../datapath/program/schema.js';
import { FakeSource, stateChange, until, type FakeFlow } from './fake-flows.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function run(alg: string, params: string[]): Promise<{ source: FakeSource; agent: Agent; logs: string[] }> {
  const mod: AlgorithmModule = await loadAlgorithm(alg);
  const source = new FakeSource();
  const server = createInprocAgentServer('alg');
  const logs: string[] = [];
  const agent = new Agent(server, mod, { params, heartbeatMs: 250, log: (l) => logs.push(l), swarmTickMs: 10 });
  const client = server.connect('dp');
  const host = new ControlHost(source, client, { name: 'dp', tickMs: 10, helloMs: 20, log: (l) => logs.push(l) });
  host.start();
  cleanups.push(async () => {
    host.stop();
    agent.close();
    await client.close();
    await server.close();
  });
  return { source, agent, logs };
}

const unchoked = (flows: FakeFlow[]): FakeFlow[] => flows.filter((f) => f.lastControls !== undefined && !f.lastControls.choke);

describe('tft', () => {
  it('unchokes the 4 interested peers that give most (snubbing ones excluded) plus one optimistic', async () => {
    const { source } = await run('tft', ['rechoke=150', 'optimistic=100000']);
    const flows: FakeFlow[] = [];
    for (let i = 1; i <= 7; i++) {
      const f = source.open();
      f.stats[FLOW.rate_in] = i * 10_000;
      f.stats[FLOW.peer_interested] = 1;
      flows.push(f);
    }
    flows[6]!.stats[FLOW.snubbed] = 1; // the fastest snubs us: no regular slot
    await until(() => flows.every((f) => f.lastControls !== undefined), 2000, 'every flow under tft');
    for (const f of flows) stateChange(source, f);
    // After a rechoke: the 4 best non-snubbing (60k, 50k, 40k, 30k) and exactly one optimistic.
    const regular = [flows[5]!, flows[4]!, flows[3]!, flows[2]!];
    await until(() => regular.every((f) => !f.lastControls!.choke) && unchoked(flows).length === 5, 3000, 'top 4 + 1 unchoked');
    await new Promise((r) => setTimeout(r, 400)); // several rechokes later it still holds
    expect(unchoked(flows).length).toBe(5);
    for (const f of regular) expect(f.lastControls!.choke).toBe(false);
  });

  it('while seeding, serves the least-served interested peers', async () => {
    const { source } = await run('tft', ['rechoke=150', 'optimistic=100000']);
    source.torrentStats[TORRENT.seeding] = 1;
    const flows: FakeFlow[] = [];
    for (let i = 1; i <= 7; i++) {
      const f = source.open();
      f.stats[FLOW.bytes_sent] = i * 1_000_000;
      f.stats[FLOW.peer_interested] = i === 1 ? 0 : 1; // the least served is not interested
      flows.push(f);
    }
    await until(() => flows.every((f) => f.lastControls !== undefined), 2000, 'every flow under tft');
    for (const f of flows) stateChange(source, f);
    const regular = [flows[1]!, flows[2]!, flows[3]!, flows[4]!];
    await until(() => regular.every((f) => !f.lastControls!.choke) && unchoked(flows).length === 5, 3000, 'least-served 4 unchoked');
    await new Promise((r) => setTimeout(r, 400));
    // 6 interested: the 4 least served, and one optimistic among the two most served.
    expect(unchoked(flows).length).toBe(5);
    for (const f of regular) expect(f.lastControls!.choke).toBe(false);
    expect(unchoked([flows[5]!, flows[6]!]).length).toBe(1);
    expect(flows[0]!.lastControls!.choke).toBe(true);
  });
});

describe('aimd', () => {
  it('raises the cap while the peer asks and we use it; cuts it by beta when the send queue grows', async () => {
    const { source } = await run('aimd', ['start=100k', 'step=20k', 'beta=0.5', 'hold=100']);
    const f = source.open();
    f.stats[FLOW.peer_requests] = 10;
    await until(() => f.lastControls?.rateBps === 100_000, 2000, 'start rate');
    // Send at the cap: 10 ms worth of the current cap every 10 ms.
    const pump = setInterval(() => source.sent(f, (f.lastControls?.rateBps ?? 0) / 100), 10);
    cleanups.push(() => clearInterval(pump));
    await until(() => (f.lastControls?.rateBps ?? 0) >= 160_000, 4000, 'additive increase to 160k');
    const peak = f.lastControls!.rateBps;
    f.stats[FLOW.queue_bytes] = 1_000_000;
    await until(() => (f.lastControls?.rateBps ?? Infinity) < peak, 2000, 'a decrease');
    const cut = f.lastControls!.rateBps;
    expect(cut).toBeGreaterThanOrEqual(Math.round(peak * 0.5) - 20_000 - 1); // one decrease (at most one step landed first)
    expect(cut).toBeLessThanOrEqual(Math.round((peak + 20_000) * 0.5) + 1);
    // While congested it keeps falling, never below min (16k).
    await until(() => f.lastControls!.rateBps === 16_000, 4000, 'down to min');
    // A peer that stops asking gets no increase.
    f.stats[FLOW.queue_bytes] = 0;
    f.stats[FLOW.peer_requests] = 0;
    await new Promise((r) => setTimeout(r, 600));
    expect(f.lastControls!.rateBps).toBe(16_000);
  });
});

describe('fixed', () => {
  it('splits total evenly among active flows and re-splits when one leaves', async () => {
    const { source } = await run('fixed', ['total=300k']);
    const flows = [source.open(), source.open(), source.open()];
    for (const f of flows) {
      f.stats[FLOW.peer_interested] = 1;
      f.stats[FLOW.peer_requests] = 5;
    }
    await until(() => flows.every((f) => f.lastControls?.rateBps === 100_000), 3000, '100k each');
    source.close(flows[2]!);
    await until(() => flows.slice(0, 2).every((f) => f.lastControls?.rateBps === 150_000), 3000, '150k each');
  });

  it('with rate and total, each flow gets the smaller', async () => {
    const { source } = await run('fixed', ['total=300k', 'rate=80k']);
    const f = source.open();
    f.stats[FLOW.peer_interested] = 1;
    f.stats[FLOW.peer_requests] = 5;
    await until(() => f.lastControls?.rateBps === 80_000, 3000, '80k');
  });
});

describe('examples/reciprocal.ts', () => {
  it('loads as a user file and caps each peer at ratio × what it gives, at least floor', async () => {
    const { source } = await run('./examples/reciprocal.ts', ['ratio=2', 'floor=10k']);
    const giver = source.open();
    const taker = source.open();
    await until(() => giver.lastControls?.rateBps === 10_000 && taker.lastControls?.rateBps === 10_000, 2000, 'floor');
    // The giver sends us 50 kB/s: 500 bytes every 10 ms.
    const pump = setInterval(() => source.emit(giver, { recv: 500 }), 10);
    cleanups.push(() => clearInterval(pump));
    await until(() => (giver.lastControls?.rateBps ?? 0) > 80_000, 5000, 'cap following 2 × 50 kB/s');
    expect(taker.lastControls!.rateBps).toBe(10_000);
    // Seeding: caps come off.
    source.torrentStats[TORRENT.seeding] = 1;
    await until(() => giver.lastControls?.rateBps === 0 && taker.lastControls?.rateBps === 0, 3000, 'no caps when seeding');
  });
});
