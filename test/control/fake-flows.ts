// A small FlowSource for in-process tests of the control host: flows whose stats the test sets and
// whose applyControls/releaseControls calls it can read. (The tests that matter run the real engine.)
import type { ControlledFlow, FlowControls, FlowEventSink, FlowSource } from '../../datapath/flow/flow-api.js';
import { EVENT, EVENT_BANK_SIZE, FLOW_BANK_SIZE, TORRENT_BANK_SIZE } from '../../datapath/program/schema.js';

export class FakeFlow implements ControlledFlow {
  readonly stats = new Float64Array(FLOW_BANK_SIZE);
  readonly applied: FlowControls[] = [];
  releases = 0;
  externallyControlled = false;
  constructor(
    readonly info: ControlledFlow['info'],
    readonly torrentStats: Float64Array,
  ) {}
  applyControls(c: Readonly<FlowControls>): void {
    this.applied.push({ ...c });
    this.externallyControlled = true;
  }
  releaseControls(): void {
    this.releases++;
    this.externallyControlled = false;
  }
  get lastControls(): FlowControls | undefined {
    return this.applied[this.applied.length - 1];
  }
}

export class FakeSource implements FlowSource {
  sink: FlowEventSink | null = null;
  readonly flows = new Map<number, FakeFlow>();
  readonly torrentStats = new Float64Array(TORRENT_BANK_SIZE);
  private nextId = 1;
  private readonly event = new Float64Array(EVENT_BANK_SIZE);

  setFlowSink(sink: FlowEventSink | null): void {
    this.sink = sink;
  }
  liveFlows(): Iterable<ControlledFlow> {
    return this.flows.values();
  }

  open(port = 6000 + this.nextId): FakeFlow {
    const flowId = this.nextId++;
    const flow = new FakeFlow(
      {
        flowId,
        infoHash: Buffer.alloc(20, 0xab),
        peerHost: '127.0.0.1',
        peerPort: port,
        peerId: Buffer.alloc(20, flowId),
        pieceLength: 16384,
        pieceCount: 10,
        totalBytes: 163840,
      },
      this.torrentStats,
    );
    this.flows.set(flowId, flow);
    this.sink?.flowOpened(flow);
    return flow;
  }

  close(flow: FakeFlow, reason = 'test'): void {
    this.flows.delete(flow.info.flowId);
    this.sink?.flowClosed(flow, reason);
  }

  /** An event with the given Event fields (others 0). */
  emit(flow: FakeFlow, fields: Partial<Record<keyof typeof EVENT, number>>): void {
    this.event.fill(0);
    for (const [k, v] of Object.entries(fields)) this.event[EVENT[k as keyof typeof EVENT]] = v as number;
    this.sink?.flowEvent(flow, this.event);
  }

  /** A block of `sent` bytes went to the peer. */
  sent(flow: FakeFlow, bytes: number): void {
    this.event.fill(0);
    this.event[EVENT.sent] = bytes;
    flow.stats[0] += bytes;
    this.sink?.flowEvent(flow, this.event);
  }
}

export function stateChange(source: FakeSource, flow: FakeFlow): void {
  source.emit(flow, { state_change: 1 });
}

/** Resolves when `cond()` holds, polling every 5 ms; rejects after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
