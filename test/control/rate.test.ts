// An agent process holding each flow of a seeding datapath process to its target rate: real processes,
// real Unix datagram sockets, real TCP on 127.0.0.1.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killAll, makeFixture, rateBetween, startAgent, startLeecher, startSeeder, type Fixture } from './cli-process.js';

const fixtures: Fixture[] = [];
afterEach(() => {
  killAll();
  for (const f of fixtures.splice(0)) f.remove();
});
afterAll(() => killAll());

describe('fixed over unix datagrams', () => {
  it('fixed holds each flow within 3% of its target rate over more than 10 s', async () => {
    const target = 300_000;
    // ~20 s at the target. With 4.6 MB the measured span came out 9–13 s over five CI runs (the leechers
    // also trade pieces among themselves, unpaced, which can end one early): too close to the 10 s asked.
    const f = await makeFixture(6_000_000);
    fixtures.push(f);
    const agent = startAgent(f, ['--alg', 'fixed', '--set', `rate=${target}`, '--heartbeat', '200']);
    const { port } = await startSeeder(f);
    await agent.waitFor(/attached to datapath/, 20_000);
    const leechers = [startLeecher(f, 1, port), startLeecher(f, 2, port)];
    for (const l of leechers) await l.waitFor(/"event":"complete"/, 45_000);
    for (const l of leechers) {
      const pts = l.progress().filter((p) => p.downloadedBytes > 0);
      // Leave out the first 1.5 s (connection, first requests) and the final partial second.
      const from = pts[0]!.atMs + 1500;
      // Up to the last line before completion (the final line may cover a partial second).
      const last = pts.filter((p) => !p.complete).at(-1)!.atMs;
      const { bps, spanS } = rateBetween(l, from, last);
      console.log(`fixed rate=${target}: ${l.name} received ${Math.round(bps)} B/s over ${spanS.toFixed(1)} s (${((bps / target - 1) * 100).toFixed(2)}%)`);
      expect(spanS).toBeGreaterThanOrEqual(10);
      expect(Math.abs(bps / target - 1)).toBeLessThan(0.03);
    }
  }, 90_000);

});
