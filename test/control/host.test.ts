// In-process tests of the control plane: the real ControlHost and the real Agent over the real
// in-process transport (codec included); only the flows are small fakes.
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ControlHost } from '../../datapath/control/control-host.js';
import { Agent } from '../../agent/agent.js';
import { Algorithm, SwarmPolicy, type AgentError, type AlgorithmModule, type TorrentView } from '../../agent/api.js';
import { createInprocAgentServer } from '../../protocol/inproc-transport.js';
import { ErrorCode, MsgType, PROTOCOL_VERSION, type ErrorMsg, type Message } from '../../protocol/messages.js';
import type { Channel } from '../../protocol/transport.js';
import { FakeSource, until } from './fake-flows.js';
import { TORRENT } from '../../datapath/program/schema.js';

const SUM_PROGRAM = `
(def (Report (volatile sent 0) (count 0)))
(when true
  (:= Report.sent (+ Report.sent Event.sent))
  (fallthrough))
(when (> Micros 20000)
  (:= Report.count (+ Report.count 1))
  (report))
`;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup {
  source: FakeSource;
  host: ControlHost;
  agent: Agent;
  logs: string[];
}

function start(mod: AlgorithmModule, params: string[] = [], hostOpts: { agentTimeoutMs?: number } = {}): Setup {
  const source = new FakeSource();
  const server = createInprocAgentServer('test-agent');
  const logs: string[] = [];
  // A heartbeat slow enough that a loaded test machine's pauses do not look like a dead agent.
  const agent = new Agent(server, mod, { params, heartbeatMs: 250, log: (l) => logs.push(l), swarmTickMs: 10 });
  const client = server.connect('dp');
  const host = new ControlHost(source, client, { name: 'dp', tickMs: 10, helloMs: 20, log: (l) => logs.push(l), ...hostOpts });
  host.start();
  cleanups.push(async () => {
    host.stop();
    agent.close();
    await client.close();
    await server.close();
  });
  return { source, host, agent, logs };
}

interface SumReport {
  sent: number;
  count: number;
  programId: number;
  epoch: number;
  timeUs: number;
}

interface RecordingAlg extends Algorithm<SumReport> {
  reports: SumReport[];
}

/** A module whose instances the test can reach. */
function recordingModule(opts: { program?: string; onReport?: (alg: RecordingAlg, r: SumReport) => void; initial?: Record<string, number | boolean> } = {}) {
  const instances: Recording[] = [];
  class Recording extends Algorithm<SumReport> {
    reports: SumReport[] = [];
    errors: AgentError[] = [];
    closed = false;
    onCreate(): void {
      instances.push(this);
      this.datapath.install(opts.program ?? SUM_PROGRAM, opts.initial ?? { Rate: 12_345 });
    }
    onReport(r: SumReport): void {
      this.reports.push(r);
      opts.onReport?.(this, r);
    }
    override onError(e: AgentError): void {
      this.errors.push(e);
    }
    override onClose(): void {
      this.closed = true;
    }
  }
  return { mod: { default: Recording } as AlgorithmModule, instances };
}

describe('control host with an in-process agent', () => {
  it('tells the agent about flows opened before and after it attached, applies the initial Rate, reports on ticks', async () => {
    const { mod, instances } = recordingModule();
    const source = new FakeSource();
    const early = source.open();
    const server = createInprocAgentServer('a');
    const agent = new Agent(server, mod, { heartbeatMs: 250, log: () => {} });
    const client = server.connect('dp');
    const host = new ControlHost(source, client, { name: 'dp', tickMs: 10, helloMs: 20, log: () => {} });
    host.start();
    cleanups.push(async () => {
      host.stop();
      agent.close();
      await client.close();
      await server.close();
    });
    const late = source.open();
    await until(() => instances.length === 2, 2000, 'two algorithm instances');
    expect(instances.map((a) => a.info.flowId).sort()).toEqual([early.info.flowId, late.info.flowId].sort());
    expect(instances[0]!.info.infoHash).toBe('ab'.repeat(20));
    expect(instances[0]!.info.peerAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    await until(() => early.lastControls?.rateBps === 12_345 && late.lastControls?.rateBps === 12_345, 2000, 'Rate applied');
    // Bytes sent in events show up in the next report.
    source.sent(early, 1000);
    source.sent(early, 500);
    await until(() => instances.find((a) => a.info.flowId === early.info.flowId)!.reports.some((r) => r.sent === 1500), 2000, 'a report with sent=1500');
    // Quiet flows report too (ticks).
    await until(() => instances.every((a) => a.reports.length >= 2), 2000, 'tick reports');
    // Closing a flow reaches the algorithm.
    source.close(late);
    await until(() => instances.find((a) => a.info.flowId === late.info.flowId)!.closed, 2000, 'onClose');
  });

  it('sends one InstallProgram for flows running the same source', async () => {
    const { mod, instances } = recordingModule();
    const { source, host, logs } = start(mod);
    for (let i = 0; i < 5; i++) source.open();
    try {
      await until(() => instances.length === 5 && instances.every((a) => a.reports.length > 0), 3000, 'reports from 5 flows');
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${logs.join('\n')}\n${instances.map((a) => `${a.info.flowId}: ${a.reports.length} reports, errors ${JSON.stringify(a.errors)} closed ${a.closed}`).join('\n')}\n${JSON.stringify(host.stats)}`);
    }
    expect(new Set(instances.flatMap((a) => a.reports.map((r) => r.programId))).size).toBe(1);
    expect(host.stats.reports).toBeGreaterThanOrEqual(5);
  });

  it('returns a compile error with line:col to the algorithm that installed the program', async () => {
    const { mod, instances } = recordingModule({ program: '(def (Report (x 0)))\n(when true\n  (:= Flow.rtt_us 3))' });
    const { source } = start(mod);
    source.open();
    await until(() => instances[0]?.errors.length === 1, 2000, 'a CompileFailed error');
    const err = instances[0]!.errors[0]!;
    expect(err.code).toBe('CompileFailed');
    expect(err.message).toContain(':3:7');
    expect(err.message).toMatch(/read-only/);
  });

  it('an exception in algorithm code releases that flow only; the agent and other flows keep going', async () => {
    let thrown = 0;
    const { mod, instances } = recordingModule({
      onReport: (alg) => {
        if (alg.info.flowId === 1) {
          thrown++;
          throw new Error('algorithm bug');
        }
      },
    });
    const { source, agent, logs } = start(mod);
    const bad = source.open();
    const good = source.open();
    await until(() => bad.releases === 1, 2000, 'the failing flow released');
    expect(thrown).toBe(1); // no more calls after the failure
    expect(bad.externallyControlled).toBe(false);
    const before = instances[1]!.reports.length;
    await until(() => instances[1]!.reports.length > before + 3, 2000, 'the other flow still reporting');
    expect(good.externallyControlled).toBe(true);
    expect(agent.stats.algorithmFailures).toBe(1);
    expect(logs.some((l) => l.includes('flow 1 (127.0.0.1:') && l.includes('algorithm bug'))).toBe(true);
  });

  it('a swarm policy sees the flows of its torrent and can set Choke per flow', async () => {
    const seen: number[] = [];
    class Flow extends Algorithm {
      onCreate(): void {
        this.datapath.install(SUM_PROGRAM);
      }
      onReport(): void {}
    }
    class Swarm extends SwarmPolicy<Flow> {
      override tickMs = 20;
      override onTick(t: TorrentView<Flow>): void {
        seen.push(t.flows.length);
        t.flows.forEach((f, i) => f.datapath.updateField('Choke', i % 2 === 0));
      }
    }
    const { source } = start({ default: Flow, swarm: Swarm });
    const a = source.open();
    const b = source.open();
    await until(() => a.lastControls?.choke === true && b.lastControls?.choke === false, 2000, 'chokes applied');
    expect(Math.max(...seen)).toBe(2);
  });

  it("compiles a module's named programs at attach (errors logged then) and installs them by name", async () => {
    const reports: number[] = [];
    class Named extends Algorithm<{ sent: number }> {
      onCreate(): void {
        this.datapath.install('sum');
      }
      onReport(r: { sent: number }): void {
        reports.push(r.sent);
      }
    }
    const { source, logs } = start({ default: Named, programs: { sum: SUM_PROGRAM, broken: '(def (Report (x 0)))\n(when (> Nope 1) (report))' } });
    await until(() => logs.some((l) => l.includes("program 'broken'")), 2000, 'compile error logged at attach');
    expect(logs.find((l) => l.includes("program 'broken'"))).toMatch(/:2:\d+/);
    const f = source.open();
    await until(() => f.externallyControlled, 2000, 'the program switched in');
    source.sent(f, 777);
    await until(() => reports.includes(777), 2000, 'a report from the named program');
  });

  it('torrent totals reach the swarm policy (TorrentReport)', async () => {
    const reports: { seeding: boolean; peers: number; infoHash: string; flows: number }[] = [];
    class Flow extends Algorithm {
      onCreate(): void {
        this.datapath.install(SUM_PROGRAM);
      }
      onReport(): void {}
    }
    class Swarm extends SwarmPolicy<Flow> {
      override onTorrentReport(t: TorrentView<Flow>): void {
        reports.push({ seeding: t.stats!.seeding, peers: t.stats!.peers, infoHash: t.infoHash, flows: t.flows.length });
      }
    }
    const source = new FakeSource();
    source.torrentStats[TORRENT.peers] = 3;
    source.torrentStats[TORRENT.seeding] = 1;
    const server = createInprocAgentServer('t');
    const agent = new Agent(server, { default: Flow, swarm: Swarm }, { heartbeatMs: 250, log: () => {} });
    const client = server.connect('dp');
    const host = new ControlHost(source, client, { name: 'dp', tickMs: 10, helloMs: 20, torrentReportMs: 50, log: () => {} });
    host.start();
    cleanups.push(async () => {
      host.stop();
      agent.close();
      await client.close();
      await server.close();
    });
    source.open();
    await until(() => reports.length >= 2, 2000, 'torrent reports');
    expect(reports.at(-1)).toEqual({ seeding: true, peers: 3, infoHash: 'ab'.repeat(20), flows: 1 });
  });

  it('an agent that says Goodbye returns every flow to the standard policy at once', async () => {
    const { mod, instances } = recordingModule();
    const { source, host, agent } = start(mod, [], { agentTimeoutMs: 5000 });
    const f = source.open();
    await until(() => f.externallyControlled && host.isAttached, 2000, 'flow controlled');
    // A clean goodbye: released at once (well before the timeout).
    agent.close('test');
    await until(() => !f.externallyControlled, 100, 'release on Goodbye');
    expect(host.isAttached).toBe(false);
    expect(instances[0]!.closed).toBe(true);
  });
});

/** A hand-driven agent: the test plays the agent's side of the protocol. */
function rawAgent(hostOpts: { agentTimeoutMs?: number } = {}) {
  const source = new FakeSource();
  const server = createInprocAgentServer('raw');
  const received: Message[] = [];
  let channel: Channel | null = null;
  server.onChannel((ch) => {
    channel = ch;
    ch.onMessage((m) => received.push(m));
  });
  const client = server.connect('dp');
  const logs: string[] = [];
  const host = new ControlHost(source, client, { name: 'dp', tickMs: 10, helloMs: 20, log: (l) => logs.push(l), ...hostOpts });
  host.start();
  cleanups.push(async () => {
    host.stop();
    await client.close();
    await server.close();
  });
  const errors = (): ErrorMsg[] => received.filter((m): m is ErrorMsg => m.type === MsgType.Error);
  return {
    source,
    host,
    received,
    logs,
    errors,
    send: (m: Message) => channel!.send(m),
    ready: async (heartbeatMs = 1000) => {
      await until(() => channel !== null, 2000, 'Hello');
      channel!.send({ type: MsgType.Ready, version: PROTOCOL_VERSION, heartbeatMs, agentName: 'raw' });
      await until(() => host.isAttached, 2000, 'attached');
    },
    nextError: async (n: number) => {
      await until(() => errors().length >= n, 2000, `${n} error(s)`);
      return errors()[n - 1]!;
    },
  };
}

describe('control host facing a hand-driven agent', () => {
  it('refuses a version mismatch with a message naming both versions', async () => {
    const a = rawAgent();
    await until(() => a.received.some((m) => m.type === MsgType.Hello), 2000, 'Hello');
    a.send({ type: MsgType.Ready, version: PROTOCOL_VERSION + 1, heartbeatMs: 100, agentName: 'future' });
    const err = await a.nextError(1);
    expect(err.code).toBe(ErrorCode.VersionMismatch);
    expect(err.message).toContain(`version ${PROTOCOL_VERSION}`);
    expect(err.message).toContain(`version ${PROTOCOL_VERSION + 1}`);
    expect(a.host.isAttached).toBe(false);
  });

  it('answers unknown flows, unknown programs, unknown fields and bad values with errors, and keeps serving', async () => {
    const a = rawAgent();
    const f = a.source.open();
    await a.ready();
    await until(() => a.received.some((m) => m.type === MsgType.FlowCreated), 2000, 'FlowCreated');
    a.send({ type: MsgType.UpdateFields, flowId: 999, fields: [{ name: 'Rate', value: 1 }] });
    expect((await a.nextError(1)).code).toBe(ErrorCode.UnknownFlow);
    a.send({ type: MsgType.SwitchProgram, flowId: f.info.flowId, programId: 77, epoch: 1, fields: [] });
    expect((await a.nextError(2)).code).toBe(ErrorCode.UnknownProgram);
    a.send({ type: MsgType.UpdateFields, flowId: f.info.flowId, fields: [{ name: 'Bogus', value: 1 }] });
    const unknownField = await a.nextError(3);
    expect(unknownField.code).toBe(ErrorCode.UnknownField);
    expect(unknownField.message).toContain('Bogus');
    a.send({ type: MsgType.UpdateFields, flowId: f.info.flowId, fields: [{ name: 'Rate', value: -5 }] });
    expect((await a.nextError(4)).code).toBe(ErrorCode.BadValue);
    a.send({ type: MsgType.InstallProgram, programId: 5, source: '(when true (:= Nope 1))' });
    const compile = await a.nextError(5);
    expect(compile.code).toBe(ErrorCode.CompileFailed);
    expect(compile.programId).toBe(5);
    expect(compile.message).toMatch(/:1:\d+/);
    // Controls without a program work, and nothing was applied by the refused messages.
    expect(f.applied).toEqual([]);
    a.send({ type: MsgType.UpdateFields, flowId: f.info.flowId, fields: [{ name: 'Rate', value: 5000 }, { name: 'Window', value: 8 }, { name: 'RateIn', value: 250_000 }] });
    await until(() => f.lastControls?.rateBps === 5000 && f.lastControls.window === 8 && f.lastControls.rateInBps === 250_000, 2000, 'controls applied');
    // A good program installs and runs; a program variable can be set by name.
    a.send({ type: MsgType.InstallProgram, programId: 6, source: SUM_PROGRAM });
    await until(() => a.received.some((m) => m.type === MsgType.ProgramInstalled && m.programId === 6), 2000, 'ProgramInstalled');
    const installed = a.received.find((m) => m.type === MsgType.ProgramInstalled)!;
    expect(installed.type === MsgType.ProgramInstalled && installed.reportVars).toEqual(['sent', 'count']);
    a.send({ type: MsgType.SwitchProgram, flowId: f.info.flowId, programId: 6, epoch: 3, fields: [{ name: 'Report.count', value: 100 }] });
    await until(() => a.received.some((m) => m.type === MsgType.Report && m.epoch === 3), 2000, 'a Report of epoch 3');
    const report = a.received.find((m) => m.type === MsgType.Report)!;
    expect(report.type === MsgType.Report && report.values[1]).toBe(101);
    // Switching keeps the controls the flow had.
    expect(f.lastControls).toEqual({ rateBps: 5000, choke: false, window: 8, rateInBps: 250_000 });
    // With a program running, RateIn goes through its register like Rate; a negative one is refused.
    a.send({ type: MsgType.UpdateFields, flowId: f.info.flowId, fields: [{ name: 'RateIn', value: -1 }] });
    expect((await a.nextError(6)).code).toBe(ErrorCode.BadValue);
    a.send({ type: MsgType.UpdateFields, flowId: f.info.flowId, fields: [{ name: 'RateIn', value: 90_000 }] });
    await until(() => f.lastControls?.rateInBps === 90_000, 2000, 'RateIn applied under a program');
    expect(f.lastControls).toEqual({ rateBps: 5000, choke: false, window: 8, rateInBps: 90_000 });
  });

  it('falls back when the agent goes silent (hung), and says Hello again', async () => {
    const a = rawAgent({ agentTimeoutMs: 150 });
    const f = a.source.open();
    // Alive while it heartbeats...
    const beat = setInterval(() => a.send({ type: MsgType.Heartbeat, timeUs: 0 }), 20);
    cleanups.push(() => clearInterval(beat));
    await a.ready(50);
    a.send({ type: MsgType.UpdateFields, flowId: f.info.flowId, fields: [{ name: 'Rate', value: 7000 }] });
    await until(() => f.externallyControlled, 2000, 'controlled');
    await new Promise((r) => setTimeout(r, 300));
    expect(f.externallyControlled).toBe(true);
    // ...then silent: the flow goes back to the standard policy after about the timeout.
    clearInterval(beat);
    const t0 = Date.now();
    await until(() => !f.externallyControlled, 2000, 'fallback after silence');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
    expect(a.host.isAttached).toBe(false);
    expect(a.host.stats.timeouts).toBe(1);
    const hellos = a.received.filter((m) => m.type === MsgType.Hello).length;
    await until(() => a.received.filter((m) => m.type === MsgType.Hello).length > hellos, 1000, 'Hello again');
    // Re-attaching announces the live flow again.
    const created = a.received.filter((m) => m.type === MsgType.FlowCreated).length;
    await a.ready(1000);
    await until(() => a.received.filter((m) => m.type === MsgType.FlowCreated).length === created + 1, 1000, 'FlowCreated again');
  });

  it('refuses messages before Ready', async () => {
    const a = rawAgent();
    const f = a.source.open();
    await until(() => a.received.some((m) => m.type === MsgType.Hello), 2000, 'Hello');
    a.send({ type: MsgType.UpdateFields, flowId: f.info.flowId, fields: [{ name: 'Rate', value: 1 }] });
    const err = await a.nextError(1);
    expect(err.code).toBe(ErrorCode.Malformed);
    expect(err.message).toMatch(/before Ready/);
    expect(f.applied).toEqual([]);
  });
});

describe('the agent drops stale reports', () => {
  it('a report of a program the flow has left is not delivered, even if it arrives after the switch', async () => {
    // The test plays the datapath: the Agent under test answers it.
    const server = createInprocAgentServer('agent');
    const { mod, instances } = recordingModule({
      onReport: (alg, r) => {
        if (r.count === 1) alg.datapath.install('(def (Report (other 0))) (when (> Micros 1000) (report))');
      },
    });
    const agent = new Agent(server, mod, { heartbeatMs: 1000, log: () => {} });
    const dp = server.connect('fake-dp');
    const got: Message[] = [];
    dp.onMessage((m) => got.push(m));
    cleanups.push(async () => {
      agent.close();
      await dp.close();
      await server.close();
    });
    dp.send({ type: MsgType.Hello, version: PROTOCOL_VERSION, datapathName: 'fake-dp', pid: 1 });
    await until(() => got.some((m) => m.type === MsgType.Ready), 2000, 'Ready');
    dp.send({ type: MsgType.FlowCreated, flowId: 9, infoHash: Buffer.alloc(20, 1), peerHost: '10.0.0.1', peerPort: 1, peerId: Buffer.alloc(20), pieceLength: 16384, pieceCount: 1, totalBytes: 16384 });
    await until(() => got.some((m) => m.type === MsgType.InstallProgram), 2000, 'InstallProgram');
    const install1 = got.find((m) => m.type === MsgType.InstallProgram)!;
    const p1 = install1.type === MsgType.InstallProgram ? install1.programId : -1;
    dp.send({ type: MsgType.ProgramInstalled, programId: p1, reportVars: ['sent', 'count'] });
    await until(() => got.some((m) => m.type === MsgType.SwitchProgram), 2000, 'SwitchProgram');
    const sw = got.find((m) => m.type === MsgType.SwitchProgram)!;
    const epoch1 = sw.type === MsgType.SwitchProgram ? sw.epoch : -1;
    expect(sw.type === MsgType.SwitchProgram && sw.fields).toEqual([{ name: 'Rate', value: 12_345 }]);
    dp.send({ type: MsgType.Report, flowId: 9, programId: p1, epoch: epoch1, timeUs: 1, values: [10, 1] });
    // The algorithm installs another program on that report; a report of the old run still in flight:
    await until(() => got.filter((m) => m.type === MsgType.InstallProgram).length === 2, 2000, 'second InstallProgram');
    dp.send({ type: MsgType.Report, flowId: 9, programId: p1, epoch: epoch1, timeUs: 2, values: [20, 2] });
    const install2 = got.filter((m) => m.type === MsgType.InstallProgram)[1]!;
    const p2 = install2.type === MsgType.InstallProgram ? install2.programId : -1;
    dp.send({ type: MsgType.ProgramInstalled, programId: p2, reportVars: ['other'] });
    await until(() => got.filter((m) => m.type === MsgType.SwitchProgram).length === 2, 2000, 'second SwitchProgram');
    const sw2 = got.filter((m) => m.type === MsgType.SwitchProgram)[1]!;
    const epoch2 = sw2.type === MsgType.SwitchProgram ? sw2.epoch : -1;
    expect(epoch2).toBeGreaterThan(epoch1);
    // Same program id but the old epoch is stale too.
    dp.send({ type: MsgType.Report, flowId: 9, programId: p2, epoch: epoch1, timeUs: 3, values: [30] });
    dp.send({ type: MsgType.Report, flowId: 9, programId: p2, epoch: epoch2, timeUs: 4, values: [40] });
    await until(() => instances[0]!.reports.length === 2, 2000, 'two delivered reports');
    await new Promise((r) => setTimeout(r, 30));
    expect(instances[0]!.reports.map((r) => r.timeUs)).toEqual([1, 4]);
    expect((instances[0]!.reports[1] as unknown as { other: number }).other).toBe(40);
    expect(agent.stats.staleReports).toBe(2);
  });
});

describe('control host robustness', () => {
  it('arbitrary message objects from an agent never throw out of the host and never stop it serving', () => {
    // A fake channel hands the host whatever the property generates, bypassing the codec's checks.
    const source = new FakeSource();
    let deliver: (m: Message) => void = () => {};
    const sent: Message[] = [];
    const channel: Channel = {
      description: 'fuzz',
      send: (m) => void sent.push(m),
      onMessage: (h) => void (deliver = h),
      onError: () => {},
    };
    const host = new ControlHost(source, channel, { name: 'fuzz', tickMs: 1000, log: () => {} });
    host.start();
    const flow = source.open();
    deliver({ type: MsgType.Ready, version: PROTOCOL_VERSION, heartbeatMs: 60_000, agentName: 'x' });
    expect(host.isAttached).toBe(true);
    const value = fc.oneof(fc.double(), fc.integer(), fc.constant(NaN), fc.constant(-1), fc.string(), fc.constant(undefined), fc.constant(null));
    const field = fc.record({ name: fc.oneof(fc.constantFrom('Rate', 'Choke', 'Window', 'RateIn', 'Report.sent', 'sent', 'x'), fc.string()), value });
    const msg = fc.record({
      type: fc.integer({ min: -1, max: 15 }),
      flowId: fc.oneof(fc.constant(flow.info.flowId), fc.integer(), value),
      programId: fc.oneof(fc.constant(1), fc.integer(), value),
      epoch: value,
      source: fc.oneof(fc.constant(SUM_PROGRAM), fc.string(), value),
      fields: fc.oneof(fc.array(field, { maxLength: 100 }), value),
      version: fc.oneof(fc.constant(PROTOCOL_VERSION), value),
      heartbeatMs: value,
      reason: value,
      message: value,
    });
    fc.assert(
      fc.property(msg, (m) => {
        deliver(m as unknown as Message);
        // Whatever happened, the engine only ever saw sane knobs.
        for (const c of flow.applied) {
          expect(Number.isFinite(c.rateBps) && c.rateBps >= 0).toBe(true);
          expect(Number.isInteger(c.window) && c.window >= 0).toBe(true);
          expect(typeof c.choke).toBe('boolean');
        }
      }),
      { numRuns: 2000 },
    );
    // Still serving: a well-formed update from an attached agent still works.
    deliver({ type: MsgType.Ready, version: PROTOCOL_VERSION, heartbeatMs: 60_000, agentName: 'x' });
    deliver({ type: MsgType.UpdateFields, flowId: flow.info.flowId, fields: [{ name: 'Rate', value: 4242 }] });
    expect(flow.lastControls?.rateBps).toBe(4242);
    host.stop();
  });
});
