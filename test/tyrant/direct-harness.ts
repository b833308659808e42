// Drives tyrant's real classes the way agent/datapath-session.ts does — construct through the agent's
// context, set lastReport then call the flow's onReport then the swarm's onReport, onTick per round —
// with scripted reports and a scripted clock, so decisions can be checked round by round.
import { constructWith } from '../../agent/context.js';
import { Params, type FieldMap, type FieldValueInput, type FlowHandle, type FlowInfo, type Program, type TorrentStats, type TorrentView } from '../../agent/api.js';
import { TyrantFlow, TyrantSwarm, type TyrantReport } from '../../algorithms/tyrant.js';

/** Records what the algorithm told "the datapath", in order. */
export class RecordingHandle implements FlowHandle {
  installs: string[] = [];
  fields: { name: string; value: number }[] = [];
  released = false;
  install(program: string | Program, fields?: FieldMap): void {
    this.installs.push(typeof program === 'string' ? program : program.source);
    if (fields) this.updateFields(fields);
  }
  updateField(name: string, value: FieldValueInput): void {
    this.fields.push({ name, value: typeof value === 'boolean' ? (value ? 1 : 0) : value });
  }
  updateFields(fields: FieldMap): void {
    for (const [k, v] of Object.entries(fields)) this.updateField(k, v);
  }
  release(): void {
    this.released = true;
  }
  /** The latest value set for `name` (undefined if never). */
  last(name: string): number | undefined {
    for (let i = this.fields.length - 1; i >= 0; i--) if (this.fields[i]!.name === name) return this.fields[i]!.value;
    return undefined;
  }
  /** Every Rate set, in order. */
  rates(): number[] {
    return this.fields.filter((f) => f.name === 'Rate').map((f) => f.value);
  }
}

export const PIECE_LENGTH = 65536;

export function flowInfo(flowId: number): FlowInfo {
  return {
    flowId,
    datapath: 'scripted',
    infoHash: 'ab'.repeat(20),
    peerHost: '127.0.0.1',
    peerPort: 7000 + flowId,
    peerAddress: `127.0.0.1:${7000 + flowId}`,
    peerId: '00'.repeat(20),
    pieceLength: PIECE_LENGTH,
    pieceCount: 64,
    totalBytes: 64 * PIECE_LENGTH,
  };
}

export const QUIET: TyrantReport = {
  rate_in: 0,
  rate_out: 0,
  bytes_recv: 0,
  bytes_sent: 0,
  choking: 1,
  interested: 0,
  am_interested: 0,
  pieces: 0,
  seeding: 0,
};

export class DirectHarness {
  readonly params: Params;
  readonly store = new Map<string, unknown>();
  readonly logs: string[] = [];
  readonly swarm: TyrantSwarm;
  readonly flows: TyrantFlow[] = [];
  readonly handles = new Map<TyrantFlow, RecordingHandle>();
  private readonly reports = new Map<TyrantFlow, TyrantReport>();
  nowMs = 0;
  stats: TorrentStats | null = null;

  constructor(settings: Record<string, string> = {}) {
    this.params = new Params(settings);
    const shared = <T>(key: string, make: () => T): T => {
      if (!this.store.has(key)) this.store.set(key, make());
      return this.store.get(key) as T;
    };
    this.swarm = constructWith(
      { kind: 'swarm', values: { infoHash: 'ab'.repeat(20), datapath: 'scripted', params: this.params, shared, log: (m: string) => this.logs.push(m) } },
      () => new TyrantSwarm(),
    );
    this.shared = shared;
  }

  private readonly shared: <T>(key: string, make: () => T) => T;

  /** A new flow: constructed, onCreate, then the swarm's onFlowAdded (as the agent does). */
  addFlow(): TyrantFlow {
    const handle = new RecordingHandle();
    const info = flowInfo(this.flows.length + 1);
    const flow = constructWith(
      { kind: 'algorithm', values: { info, datapath: handle, params: this.params, shared: this.shared, log: (m: string) => this.logs.push(`${info.flowId}: ${m}`) } },
      () => new TyrantFlow(),
    );
    this.flows.push(flow);
    this.handles.set(flow, handle);
    this.reports.set(flow, { ...QUIET });
    flow.onCreate();
    this.swarm.onFlowAdded?.(flow, this.view());
    return flow;
  }

  removeFlow(flow: TyrantFlow): void {
    this.flows.splice(this.flows.indexOf(flow), 1);
    flow.onClose?.();
    this.swarm.onFlowRemoved?.(flow, this.view());
  }

  handle(flow: TyrantFlow): RecordingHandle {
    return this.handles.get(flow)!;
  }

  /** The flow's program reports `changes` on top of its previous values. */
  report(flow: TyrantFlow, changes: Partial<TyrantReport> = {}): void {
    const values = { ...this.reports.get(flow)!, ...changes };
    this.reports.set(flow, values);
    const report = { ...values, timeUs: this.nowMs * 1000, flowId: flow.info.flowId, programId: 1, epoch: 1 };
    flow.lastReport = report;
    flow.onReport(report);
    this.swarm.onReport?.(flow, this.view());
  }

  /** Every flow reports (unchanged values unless given), the clock moves by `ms`, then one round. */
  round(ms = 5000, changes: ReadonlyMap<TyrantFlow, Partial<TyrantReport>> = new Map()): void {
    this.nowMs += ms;
    for (const f of this.flows) this.report(f, changes.get(f) ?? {});
    this.swarm.onTick?.(this.view());
  }

  view(): TorrentView<TyrantFlow> {
    return { infoHash: 'ab'.repeat(20), datapath: 'scripted', stats: this.stats, flows: [...this.flows], nowMs: this.nowMs };
  }

  /** Flows the datapath was last told to unchoke. */
  unchoked(): TyrantFlow[] {
    return this.flows.filter((f) => this.handle(f).last('Choke') === 0);
  }
}
