// Around a running datapath process: a datapath that dies, a rogue on the agent's socket, an in-process
// agent overridden by an external one. Real processes, Unix datagram sockets and TCP on 127.0.0.1.
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

describe('agents and datapaths coming and going', () => {
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
    // A longer window at the low rate: bytes arrive in 16 KiB blocks, one block in 2.5 s at 50 kB/s is 13 %.
    await sleep(4500);
    const t2 = performance.now();
    expect(Math.abs(rateBetween(leecher, t2 - 4000, t2).bps / 50_000 - 1)).toBeLessThan(0.15);
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
