// The agent's whole path with scripted peers: a real ControlHost (the datapath's control plane: it
// compiles tyrant's program and runs it on every tick) and a real Agent running tyrant, over the
// in-process transport. Only the engine is scripted: each flow's Flow bank is set by the test, and the
// controls the datapath applies (Rate, Choke) are recorded.
import { Agent } from '../../agent/agent.js';
import * as tyrant from '../../algorithms/tyrant.js';
import { ControlHost } from '../../datapath/control/control-host.js';
import type { ControlledFlow, FlowControls, FlowEventSink, FlowInfo, FlowSource } from '../../datapath/flow/flow-api.js';
import { EVENT, EVENT_BANK_SIZE, FLOW, FLOW_BANK_SIZE, TORRENT, TORRENT_BANK_SIZE } from '../../datapath/program/schema.js';
import { createInprocAgentServer, type InprocAgentServer } from '../../protocol/inproc-transport.js';

export class ScriptedFlow implements ControlledFlow {
  readonly stats = new Float64Array(FLOW_BANK_SIZE);
  controls: FlowControls | null = null;
  externallyControlled = false;
  constructor(
    readonly info: FlowInfo,
    readonly torrentStats: Float64Array,
  ) {
    this.stats[FLOW.peer_choking] = 1;
  }
  applyControls(c: Readonly<FlowControls>): void {
    this.controls = { ...c };
    this.externallyControlled = true;
  }
  releaseControls(): void {
    this.controls = null;
    this.externallyControlled = false;
  }
  set(field: keyof typeof FLOW, value: number | boolean): void {
    this.stats[FLOW[field]] = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  }
  get unchoked(): boolean {
    return this.controls !== null && !this.controls.choke;
  }
}

class ScriptedSource implements FlowSource {
  sink: FlowEventSink | null = null;
  readonly flows = new Map<number, ScriptedFlow>();
  setFlowSink(sink: FlowEventSink | null): void {
    this.sink = sink;
  }
  liveFlows(): Iterable<ControlledFlow> {
    return this.flows.values();
  }
}

export class LiveHarness {
  readonly server: InprocAgentServer = createInprocAgentServer('tyrant-test');
  readonly source = new ScriptedSource();
  readonly torrentStats = new Float64Array(TORRENT_BANK_SIZE);
  readonly agent: Agent;
  readonly host: ControlHost;
  readonly logs: string[] = [];
  private nextId = 1;
  private readonly infoHash = Buffer.alloc(20, 0xab);

  constructor(settings: readonly string[]) {
    this.agent = new Agent(this.server, tyrant, { params: settings, swarmTickMs: 10, log: (l) => this.logs.push(l) });
    this.host = new ControlHost(this.source, this.server.connect('scripted-datapath'), {
      name: 'scripted-datapath',
      tickMs: 10,
      helloMs: 20,
      torrentReportMs: 100,
      log: (l) => this.logs.push(`control: ${l}`),
    });
    this.host.start();
  }

  addFlow(): ScriptedFlow {
    const id = this.nextId++;
    const flow = new ScriptedFlow(
      { flowId: id, infoHash: this.infoHash, peerHost: '127.0.0.1', peerPort: 7000 + id, peerId: Buffer.alloc(20), pieceLength: 65536, pieceCount: 64, totalBytes: 64 * 65536 },
      this.torrentStats,
    );
    this.source.flows.set(id, flow);
    this.source.sink?.flowOpened(flow);
    return flow;
  }

  /** A choke/interest flag changed: the engine runs the program with Event.state_change. */
  stateChange(flow: ScriptedFlow): void {
    const ev = new Float64Array(EVENT_BANK_SIZE);
    ev[EVENT.state_change] = 1;
    this.source.sink?.flowEvent(flow, ev);
  }

  setSeeding(on: boolean): void {
    this.torrentStats[TORRENT.seeding] = on ? 1 : 0;
  }

  async stop(): Promise<void> {
    this.host.stop('test over');
    this.agent.close('test over');
    await this.server.close();
  }
}

/** Polls `cond` every 10 ms until it holds or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
