// An agent dying or hanging beside a running datapath process: flows return to the standard policy
// within the heartbeat timeout and come back under control when an agent (re)attaches. Real processes,
// Unix datagram sockets and TCP on 127.0.0.1.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killAll, makeFixture, rateBetween, startAgent, startLeecher, startSeeder, type Fixture } from './cli-process.js';

const fixtures: Fixture[] = [];
afterEach(() => {
  killAll();
  for (const f of fixtures.splice(0)) f.remove();
});
afterAll(() => killAll());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/**
 * How far past its timeout the datapath may notice a silent agent: a watchdog period (an eighth of the
 * timeout, or the tick), timer slack, and a busy machine's late timers (CI measured 641 ms for 600).
 */
const SLACK_MS = 300;

describe('agent failure and return', () => {
  it('SIGKILL of the agent returns flows to the standard policy within the timeout; a new agent re-attaches every flow', async () => {
    const capped = 100_000;
    const f = await makeFixture(6_000_000);
    fixtures.push(f);
    const { proc: seeder, port } = await startSeeder(f);
    const agentArgs = ['--alg', 'fixed', '--set', `rate=${capped}`, '--heartbeat', '200', '--stats', '250'];
    const first = startAgent(f, agentArgs);
    await first.waitFor(/attached to datapath/, 20_000);
    // The leechers cap their own download, so the fallback phase does not finish the transfer at once.
    const leechers = [startLeecher(f, 1, port, ['--max-down', '400k']), startLeecher(f, 2, port, ['--max-down', '400k'])];
    await first.waitFor(/flows 2,/, 20_000);
    for (const l of leechers) await l.waitFor(/"downloadedBytes":[1-9]/, 20_000);
    await sleep(3000);
    const tCapped = performance.now();
    for (const l of leechers) expect(rateBetween(l, tCapped - 2500, tCapped).bps).toBeLessThan(capped * 1.15);

    // Kill without a goodbye: the datapath must notice the silence (3 × 200 ms) by itself.
    const seenLines = seeder.lines.length;
    first.kill('SIGKILL');
    const fallback = await seeder.waitFor(/silent for \d+ ms \(timeout 600 ms\)/, 5000, seenLines);
    const silentMs = Number(/silent for (\d+) ms/.exec(fallback.text)![1]);
    console.log(`agent SIGKILLed: datapath fell back after ${silentMs} ms of silence (timeout 600 ms)`);
    expect(silentMs).toBeLessThanOrEqual(600 + SLACK_MS);
    await sleep(2500);
    const tFree = performance.now();
    for (const l of leechers) {
      const { bps } = rateBetween(l, tFree - 2600, tFree);
      expect(bps, `${l.name} after the fallback\n${l.tail(6)}`).toBeGreaterThan(capped * 2);
    }

    // A new agent: Hello → Ready → FlowCreated for both live flows, caps back on.
    const second = startAgent(f, agentArgs);
    await second.waitFor(/flows 2,/, 20_000);
    await sleep(3500);
    const tBack = performance.now();
    for (const l of leechers) {
      if (l.progress().some((p) => p.complete)) continue;
      expect(rateBetween(l, tBack - 2500, tBack).bps).toBeLessThan(capped * 1.15);
    }
    // A clean stop says Goodbye: the transfer then completes under the standard policy.
    second.kill('SIGTERM');
    expect(await second.waitExit(5000)).toBe(0);
    for (const l of leechers) await l.waitFor(/"event":"complete"/, 30_000);
  }, 120_000);

  it('a hung agent (SIGSTOP) counts as gone; once it runs again it re-attaches', async () => {
    const f = await makeFixture(3_000_000);
    fixtures.push(f);
    const agent = startAgent(f, ['--alg', 'fixed', '--set', 'rate=100k', '--heartbeat', '100', '--stats', '200']);
    const { proc: seeder, port } = await startSeeder(f);
    await agent.waitFor(/attached to datapath/, 20_000);
    const leecher = startLeecher(f, 1, port, ['--max-down', '200k']);
    await agent.waitFor(/flows 1,/, 20_000);
    const seen = seeder.lines.length;
    agent.kill('SIGSTOP');
    try {
      const line = await seeder.waitFor(/silent for \d+ ms \(timeout 300 ms\)/, 5000, seen);
      expect(Number(/silent for (\d+) ms/.exec(line.text)![1])).toBeLessThanOrEqual(300 + SLACK_MS);
    } finally {
      agent.kill('SIGCONT');
    }
    // Awake again, it hears the datapath's Hello, starts over and gets the live flow back.
    const attachedBefore = agent.lines.filter((l) => /attached to datapath/.test(l.text)).length;
    const deadline = performance.now() + 10_000;
    while (agent.lines.filter((l) => /attached to datapath/.test(l.text)).length === attachedBefore) {
      if (performance.now() > deadline) throw new Error(`no re-attach\n${agent.tail()}\n${seeder.tail()}`);
      await sleep(50);
    }
    const from = agent.lines.length;
    await agent.waitFor(/flows 1,/, 5000, from);
    leecher.kill('SIGKILL');
  }, 60_000);
});
