// Agents coming and going around a running datapath process: SIGKILL, restart, a rogue on the agent's
// socket, an in-process agent overridden by an external one. Real processes, sockets and TCP on 127.0.0.1.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DgramSocket } from '../../protocol/unix-dgram-socket.js';
import { decodeDatagram, encodeBatch } from '../../protocol/codec.js';
import { ErrorCode, MsgType, PROTOCOL_VERSION, type Message } from '../../protocol/messages.js';
import { killAll, makeFixture, rateBetween, startAgent, startLeecher, startSeeder, type Fixture } from './cli-process.js';

const fixtures: Fixture[] = [];
afterEach(() => {
  killAll();
  for (const f of fixtures.splice(0)) f.remove();
});
afterAll(() => killAll());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('agents coming and going', () => {
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
    expect(silentMs).toBeLessThanOrEqual(600 + 150); // timeout + one host tick and timer slack
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
      expect(Number(/silent for (\d+) ms/.exec(line.text)![1])).toBeLessThanOrEqual(300 + 150);
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

  it('a datapath that dies is forgotten by the agent, which keeps serving the next one', async () => {
    const f = await makeFixture(1_000_000);
    fixtures.push(f);
    const agent = startAgent(f, ['--alg', 'fixed', '--set', 'rate=1M', '--heartbeat', '100']);
    const first = await startSeeder(f);
    await agent.waitFor(/attached to datapath seed/, 20_000);
    first.proc.kill('SIGKILL');
    await agent.waitFor(/datapath seed said goodbye \(datapath socket .* is gone\)|detached from datapath seed/, 10_000);
    const from = agent.lines.length;
    await startSeeder(f);
    await agent.waitFor(/attached to datapath seed/, 20_000, from);
    expect(agent.exited).toBe(false);
  }, 60_000);

  it('a rogue on the agent socket sending random and malformed datagrams gets errors back; the datapath keeps serving', async () => {
    const f = await makeFixture(3_000_000);
    fixtures.push(f);
    // The rogue takes the agent's address before the datapath starts.
    const rogue = new DgramSocket();
    const agentPath = join(f.socketDir, 'agent.sock');
    expect(rogue.bind(agentPath)).toBe(0);
    const received: { from: string | undefined; msgs: Message[]; bad: number }[] = [];
    rogue.onMessage((d, from) => {
      try {
        const dec = decodeDatagram(d);
        received.push({ from, msgs: dec.messages, bad: dec.errors.length });
      } catch {
        received.push({ from, msgs: [], bad: 1 });
      }
    });
    try {
      const { proc: seeder, port } = await startSeeder(f);
      const deadline = performance.now() + 10_000;
      while (!received.some((r) => r.msgs.some((m) => m.type === MsgType.Hello)) && performance.now() < deadline) await sleep(20);
      const hello = received.find((r) => r.msgs.some((m) => m.type === MsgType.Hello))!;
      const dp = hello.from!;
      const send = (...msgs: Message[]): number => rogue.sendTo(encodeBatch(msgs)[0]!, dp);
      expect(send({ type: MsgType.Ready, version: PROTOCOL_VERSION, heartbeatMs: 100, agentName: 'rogue' })).toBe(0);
      const leecher = startLeecher(f, 1, port, ['--max-down', '1M']);
      let flowId = 0;
      const keepAlive = setInterval(() => send({ type: MsgType.Heartbeat, timeUs: 0 }), 50);
      try {
        // Garbage of every kind while the leecher downloads.
        for (let i = 0; i < 60; i++) {
          const junk = Buffer.alloc(1 + Math.floor(Math.random() * 300));
          for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(Math.random() * 256);
          if (i % 3 === 0) junk.write('CCBT', 0, 'latin1'); // a plausible header, then nonsense
          rogue.sendTo(junk, dp);
          if (i % 10 === 0) {
            const good = encodeBatch([{ type: MsgType.UpdateFields, flowId: 1, fields: [{ name: 'Rate', value: 1 }] }])[0]!;
            rogue.sendTo(good.subarray(0, Math.max(12, Math.floor(good.length / 2))), dp); // truncated
          }
          await sleep(15);
        }
        const created = received.flatMap((r) => r.msgs).find((m) => m.type === MsgType.FlowCreated);
        if (created?.type === MsgType.FlowCreated) flowId = created.flowId;
        send(
          { type: MsgType.UpdateFields, flowId: 987_654, fields: [{ name: 'Rate', value: 1000 }] },
          { type: MsgType.InstallProgram, programId: 3, source: '(def (Report (x 0)))\n(when true (:= Rate Flow.nope))' },
          { type: MsgType.SwitchProgram, flowId: flowId || 1, programId: 99, epoch: 1, fields: [] },
          { type: MsgType.UpdateFields, flowId: flowId || 1, fields: [{ name: 'NoSuchField', value: 1 }] },
          { type: MsgType.Report, flowId: 1, programId: 1, epoch: 1, timeUs: 1, values: [1] },
        );
        await leecher.waitFor(/"event":"complete"/, 30_000);
      } finally {
        clearInterval(keepAlive);
      }
      const errors = received.flatMap((r) => r.msgs).filter((m) => m.type === MsgType.Error);
      const codes = new Set(errors.map((e) => (e.type === MsgType.Error ? e.code : 0)));
      expect(codes.has(ErrorCode.Malformed)).toBe(true); // undecodable datagrams answered
      expect(codes.has(ErrorCode.UnknownFlow)).toBe(true);
      expect(codes.has(ErrorCode.CompileFailed)).toBe(true);
      expect(codes.has(ErrorCode.UnknownProgram) || flowId === 0).toBe(true);
      expect(codes.has(ErrorCode.UnknownField) || flowId === 0).toBe(true);
      const compile = errors.find((e) => e.type === MsgType.Error && e.code === ErrorCode.CompileFailed);
      expect(compile?.type === MsgType.Error && compile.message).toMatch(/:2:\d+/);
      expect(seeder.exited).toBe(false);
    } finally {
      rogue.close();
    }
  }, 90_000);
  it('with --ipc unix and --alg, an external agent takes over from the in-process one and hands back when it stops', async () => {
    const f = await makeFixture(2_500_000);
    fixtures.push(f);
    const { proc: seeder, port } = await startSeeder(f, ['--alg', 'fixed', '--set', 'rate=150k', '--heartbeat', '200']);
    const leecher = startLeecher(f, 1, port);
    await leecher.waitFor(/"downloadedBytes":[1-9]/, 20_000);
    await sleep(3000);
    const t1 = performance.now();
    const inproc = rateBetween(leecher, t1 - 2500, t1).bps;
    expect(Math.abs(inproc / 150_000 - 1)).toBeLessThan(0.15);
    const external = startAgent(f, ['--alg', 'fixed', '--set', 'rate=50k', '--heartbeat', '200', '--stats', '250']);
    await external.waitFor(/flows 1,/, 20_000);
    await sleep(3000);
    const t2 = performance.now();
    expect(Math.abs(rateBetween(leecher, t2 - 2500, t2).bps / 50_000 - 1)).toBeLessThan(0.15);
    external.kill('SIGTERM');
    expect(await external.waitExit(5000)).toBe(0);
    // The in-process agent answers the next Hello (at once after a Goodbye) and caps at 150k again.
    await sleep(3500);
    const t3 = performance.now();
    if (!leecher.progress().some((p) => p.complete)) {
      expect(Math.abs(rateBetween(leecher, t3 - 2500, t3).bps / 150_000 - 1)).toBeLessThan(0.15);
    }
    await leecher.waitFor(/"event":"complete"/, 30_000);
    expect(seeder.exited).toBe(false);
  }, 90_000);
});
