// The agent's conversation with one datapath (portus' per-datapath state): handshake and heartbeat,
// one algorithm instance per flow, one swarm policy per torrent, programs deduplicated by source,
// stale reports dropped, errors routed to the flow that caused them. Algorithm code that throws costs
// its own flow (released to the standard policy), never the session.
import {
  ErrorCode,
  MsgType,
  PROTOCOL_VERSION,
  type ErrorMsg,
  type FieldValue,
  type FlowCreatedMsg,
  type HelloMsg,
  type Message,
  type ReportMsg,
  type TorrentReportMsg,
} from '../protocol/messages.js';
import type { Channel } from '../protocol/transport.js';
import { MAX_FIELDS } from '../protocol/limits.js';
import {
  Program,
  type AgentError,
  type AgentErrorCode,
  type AnyAlgorithm,
  type AlgorithmModule,
  type FieldMap,
  type FlowInfo,
  type SwarmPolicy,
  type TorrentStats,
  type TorrentView,
} from './api.js';
import { constructWith } from './context.js';
import { FlowEntry, toWire, type FlowOwner } from './flow-entry.js';
import type { Params } from './params.js';
import { ProgramRegistry, type ProgramEntry } from './program-registry.js';

export interface SessionEnv {
  readonly module: AlgorithmModule;
  readonly params: Params;
  readonly heartbeatMs: number;
  readonly agentName: string;
  readonly shared: <T>(key: string, make: () => T) => T;
  readonly log: (line: string) => void;
  readonly stats: AgentStats;
}

export interface AgentStats {
  flows: number;
  reports: number;
  staleReports: number;
  errors: number;
  algorithmFailures: number;
}

interface TorrentEntry {
  readonly infoHash: string;
  policy: SwarmPolicy<AnyAlgorithm> | null;
  readonly flows: Set<FlowEntry>;
  stats: TorrentStats | null;
  lastTickMs: number;
}

const TORRENT_FIELDS = ['rate_out', 'rate_in', 'peers', 'unchoked', 'left_bytes', 'seeding'] as const;

export class DatapathSession implements FlowOwner {
  /** The datapath's name once it said Hello. */
  name: string;
  private ready = false;
  private readonly flows = new Map<number, FlowEntry>();
  private readonly torrents = new Map<string, TorrentEntry>();
  private readonly programs = new ProgramRegistry();
  private readonly dirty: FlowEntry[] = [];
  private flushQueued = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private closed = false;
  private lastNoticeMs = -Infinity;

  constructor(
    readonly channel: Channel,
    private readonly env: SessionEnv,
  ) {
    this.name = channel.description;
    channel.onMessage((msg) => this.guarded('message', () => this.onMessage(msg)));
    channel.onError((err) => {
      // Transport notices (undecodable input, a peer gone): logged at most once a second.
      const now = performance.now();
      if (now - this.lastNoticeMs < 1000) return;
      this.lastNoticeMs = now;
      this.env.log(`datapath ${this.name}: ${err.message}`);
    });
  }

  get isReady(): boolean {
    return this.ready;
  }

  get flowCount(): number {
    return this.flows.size;
  }

  /** Says Goodbye, closes every flow's algorithm, stops the heartbeat. */
  close(reason: string): void {
    if (this.closed) return;
    if (this.ready && (this.channel as { isClosed?: boolean }).isClosed !== true) {
      this.guarded('goodbye', () => this.channel.send({ type: MsgType.Goodbye, reason }));
    }
    if (this.ready) this.env.log(`detached from datapath ${this.name}: ${reason}`);
    this.reset();
    this.closed = true;
  }

  /** Runs each torrent's onTick when due (called by the agent's timer). */
  tick(nowMs: number): void {
    for (const t of this.torrents.values()) {
      const policy = t.policy;
      if (!policy?.onTick || nowMs - t.lastTickMs < policy.tickMs) continue;
      t.lastTickMs = nowMs;
      this.callSwarm(t, 'onTick', () => policy.onTick!(this.view(t)));
    }
  }

  // ---- messages from the datapath ----

  private onMessage(msg: Message): void {
    if (this.closed) return;
    switch (msg.type) {
      case MsgType.Hello:
        return this.onHello(msg);
      case MsgType.FlowCreated:
        if (this.ready) this.onFlowCreated(msg);
        return;
      case MsgType.FlowClosed: {
        const entry = this.flows.get(msg.flowId);
        if (entry) this.closeFlow(entry);
        return;
      }
      case MsgType.ProgramInstalled:
        return this.onProgramInstalled(msg.programId, msg.reportVars);
      case MsgType.Report:
        return this.onReport(msg);
      case MsgType.TorrentReport:
        return this.onTorrentReport(msg);
      case MsgType.Error:
        return this.onError(msg);
      case MsgType.Goodbye:
        this.env.log(`datapath ${this.name} said goodbye (${msg.reason})`);
        this.reset();
        return;
      default:
        this.channel.send(errorMsg(ErrorCode.Malformed, 0, 0, `unexpected ${MsgType[msg.type] ?? msg.type} from a datapath`));
    }
  }

  private onHello(msg: HelloMsg): void {
    if (msg.version !== PROTOCOL_VERSION) {
      this.channel.send(errorMsg(ErrorCode.VersionMismatch, 0, 0, `protocol version mismatch: agent speaks version ${PROTOCOL_VERSION}, datapath's Hello says version ${msg.version}`));
      this.env.log(`datapath ${msg.datapathName} speaks protocol version ${msg.version}, this agent ${PROTOCOL_VERSION}: refused`);
      return;
    }
    // A Hello while attached means the datapath dropped us (timeout) or restarted: start over.
    if (this.ready) this.reset();
    this.name = msg.datapathName || this.channel.description;
    this.ready = true;
    this.channel.send({ type: MsgType.Ready, version: PROTOCOL_VERSION, heartbeatMs: this.env.heartbeatMs, agentName: this.env.agentName });
    this.heartbeat = setInterval(() => this.guarded('heartbeat', () => this.channel.send({ type: MsgType.Heartbeat, timeUs: Math.round(performance.now() * 1000) })), this.env.heartbeatMs);
    this.heartbeat.unref();
    // The module's named programs are compiled up front, so their errors show at attach time.
    for (const [name, prog] of Object.entries(this.env.module.programs ?? {})) {
      this.obtainProgram(typeof prog === 'string' ? prog : prog.source, name);
    }
    this.env.log(`attached to datapath ${this.name} (pid ${msg.pid}) via ${this.channel.description}`);
  }

  private onFlowCreated(msg: FlowCreatedMsg): void {
    const old = this.flows.get(msg.flowId);
    if (old) this.closeFlow(old);
    const info = flowInfo(msg, this.name);
    const entry = new FlowEntry(info, this);
    this.flows.set(info.flowId, entry);
    this.env.stats.flows++;
    const t = this.torrent(info.infoHash);
    const alg = this.runAlg(entry, 'constructor', () =>
      constructWith({ kind: 'algorithm', values: this.algContext(entry) }, () => new this.env.module.default()),
    );
    if (!alg) return;
    entry.alg = alg;
    t.flows.add(entry);
    this.runAlg(entry, 'onCreate', () => alg.onCreate());
    if (!entry.failed && t.policy?.onFlowAdded) {
      const policy = t.policy;
      this.callSwarm(t, 'onFlowAdded', () => policy.onFlowAdded!(alg, this.view(t)));
    }
  }

  private onProgramInstalled(programId: number, reportVars: readonly string[]): void {
    const prog = this.programs.get(programId);
    if (!prog) return this.env.log(`datapath ${this.name}: ProgramInstalled for unknown program ${programId}`);
    prog.state = 'installed';
    prog.reportVars = [...reportVars];
    for (const entry of this.flows.values()) {
      if (entry.pendingSwitch?.programId === programId) this.markDirty(entry);
    }
  }

  private onReport(msg: ReportMsg): void {
    const entry = this.flows.get(msg.flowId);
    if (!entry || entry.failed || !entry.alg) return;
    // A report from a program run the algorithm has left behind is not its current state.
    if (msg.programId !== entry.programId || msg.epoch !== entry.epoch) {
      this.env.stats.staleReports++;
      return;
    }
    const prog = this.programs.get(msg.programId);
    if (!prog || prog.state !== 'installed') {
      this.env.stats.staleReports++;
      return;
    }
    this.env.stats.reports++;
    const report: Record<string, number> = { timeUs: msg.timeUs, flowId: msg.flowId, programId: msg.programId, epoch: msg.epoch };
    const names = prog.reportVars;
    const values = msg.values;
    const n = Math.min(names.length, values.length);
    for (let i = 0; i < n; i++) report[names[i]!] = values[i]!;
    const alg = entry.alg;
    (alg as { lastReport: unknown }).lastReport = report;
    this.runAlg(entry, 'onReport', () => alg.onReport(report as never));
    const t = this.torrents.get(entry.info.infoHash);
    if (!entry.failed && t?.policy?.onReport) {
      const policy = t.policy;
      this.callSwarm(t, 'onReport', () => policy.onReport!(alg, this.view(t)));
    }
  }

  private onTorrentReport(msg: TorrentReportMsg): void {
    const t = this.torrents.get(hex(msg.infoHash));
    if (!t) return;
    const v = msg.values;
    const stats: Record<string, number | boolean> = { timeUs: msg.timeUs };
    TORRENT_FIELDS.forEach((name, i) => (stats[name] = Number(v[i] ?? 0)));
    stats.seeding = Number(v[5] ?? 0) !== 0;
    t.stats = stats as unknown as TorrentStats;
    const policy = t.policy;
    if (policy?.onTorrentReport) this.callSwarm(t, 'onTorrentReport', () => policy.onTorrentReport!(this.view(t)));
  }

  private onError(msg: ErrorMsg): void {
    this.env.stats.errors++;
    const code = (ErrorCode[msg.code] ?? 'Internal') as AgentErrorCode;
    if (msg.code === ErrorCode.CompileFailed && msg.programId !== 0) {
      const prog = this.programs.get(msg.programId);
      if (prog) {
        this.programs.markFailed(prog, msg.message);
        const waiting = [...this.flows.values()].filter((e) => e.pendingSwitch?.programId === prog.id);
        if (waiting.length === 0) this.env.log(`datapath ${this.name}: program '${prog.name}' (${prog.id}) does not compile:\n${msg.message}`);
        for (const entry of waiting) {
          entry.pendingSwitch = null;
          this.deliverError(entry, { code, message: msg.message, flowId: entry.info.flowId, programId: prog.id, datapath: this.name });
        }
        return;
      }
    }
    const entry = msg.flowId !== 0 ? this.flows.get(msg.flowId) : undefined;
    const err: AgentError = { code, message: msg.message, flowId: msg.flowId, programId: msg.programId, datapath: this.name };
    if (entry) return this.deliverError(entry, err);
    this.env.log(`datapath ${this.name}: ${code}${msg.flowId ? ` (flow ${msg.flowId})` : ''}: ${msg.message}`);
  }

  private deliverError(entry: FlowEntry, err: AgentError): void {
    const alg = entry.alg;
    if (alg?.onError && !entry.failed) {
      this.runAlg(entry, 'onError', () => alg.onError!(err));
    } else {
      this.env.log(`${entry.label}: ${err.code}: ${err.message}`);
    }
  }

  // ---- FlowOwner: what a flow's handle asks for ----

  installFor(entry: FlowEntry, program: string | Program, fields: FieldMap | undefined): void {
    const { source, name } = this.resolveProgram(program);
    const initial = new Map<string, number>();
    if (fields !== undefined) {
      if (fields === null || typeof fields !== 'object') throw new TypeError('install: fields must be an object of name → value');
      for (const [k, v] of Object.entries(fields)) initial.set(k, toWire(k, v));
    }
    // Updates asked for before this install belong to the old program: they leave first.
    this.flushEntry(entry);
    const prog = this.obtainProgram(source, name);
    entry.epoch++;
    entry.programId = prog.id;
    entry.pendingSwitch = { programId: prog.id, epoch: entry.epoch, fields: initial };
    if (prog.state === 'failed') {
      entry.pendingSwitch = null;
      const err: AgentError = { code: 'CompileFailed', message: prog.failure ?? 'program does not compile', flowId: entry.info.flowId, programId: prog.id, datapath: this.name };
      queueMicrotask(() => this.guarded('error delivery', () => this.deliverError(entry, err)));
      return;
    }
    this.markDirty(entry);
  }

  releaseFor(entry: FlowEntry): void {
    entry.pendingSwitch = null;
    entry.pendingUpdates = null;
    entry.epoch++;
    entry.programId = 0;
    // Program 0 on the wire: no program, the standard policy takes the flow back.
    if (this.ready && this.flows.has(entry.info.flowId)) {
      this.channel.send({ type: MsgType.SwitchProgram, flowId: entry.info.flowId, programId: 0, epoch: entry.epoch, fields: [] });
    }
  }

  markDirty(entry: FlowEntry): void {
    if (!entry.dirty) {
      entry.dirty = true;
      this.dirty.push(entry);
    }
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    const list = this.dirty.splice(0);
    for (const entry of list) {
      entry.dirty = false;
      this.flushEntry(entry);
    }
  }

  private flushEntry(entry: FlowEntry): void {
    if (!this.ready || entry.failed || !this.flows.has(entry.info.flowId)) {
      entry.pendingUpdates = null;
      return;
    }
    const flowId = entry.info.flowId;
    const sw = entry.pendingSwitch;
    if (sw && this.programs.get(sw.programId)?.state === 'installed') {
      entry.pendingSwitch = null;
      // A message carries at most MAX_FIELDS fields: the rest follow as updates, in order.
      const [first, ...rest] = fieldChunks(sw.fields);
      this.channel.send({ type: MsgType.SwitchProgram, flowId, programId: sw.programId, epoch: sw.epoch, fields: first ?? [] });
      for (const fields of rest) this.channel.send({ type: MsgType.UpdateFields, flowId, fields });
    }
    const up = entry.pendingUpdates;
    if (up && up.size > 0) {
      entry.pendingUpdates = null;
      for (const fields of fieldChunks(up)) this.channel.send({ type: MsgType.UpdateFields, flowId, fields });
    }
  }

  // ---- helpers ----

  private resolveProgram(program: string | Program): { source: string; name: string } {
    // Structural, not instanceof: an algorithm file outside this package may carry its own copy of Program.
    if (isProgramLike(program)) return { source: program.source, name: program.name ?? 'program' };
    if (typeof program !== 'string') throw new TypeError('install: expected program source text, a Program, or the name of one of the module\'s programs');
    const named = this.env.module.programs?.[program];
    if (named !== undefined) return { source: typeof named === 'string' ? named : named.source, name: program };
    if (!program.includes('(')) throw new TypeError(`install: '${program}' is neither program text nor one of the module's programs`);
    return { source: program, name: 'program' };
  }

  private obtainProgram(source: string, name: string): ProgramEntry {
    const { entry, created } = this.programs.obtain(source, name);
    if (created) this.channel.send({ type: MsgType.InstallProgram, programId: entry.id, source });
    return entry;
  }

  private torrent(infoHash: string): TorrentEntry {
    let t = this.torrents.get(infoHash);
    if (t) return t;
    t = { infoHash, policy: null, flows: new Set(), stats: null, lastTickMs: performance.now() };
    this.torrents.set(infoHash, t);
    const Swarm = this.env.module.swarm;
    if (Swarm) {
      try {
        t.policy = constructWith({ kind: 'swarm', values: this.swarmContext(infoHash) }, () => new Swarm()) as unknown as SwarmPolicy<AnyAlgorithm>;
      } catch (err) {
        this.env.log(`torrent ${infoHash} on ${this.name}: swarm policy constructor threw: ${errText(err)}`);
        this.env.stats.algorithmFailures++;
      }
    }
    return t;
  }

  private view(t: TorrentEntry): TorrentView<AnyAlgorithm> {
    const flows: AnyAlgorithm[] = [];
    for (const e of t.flows) if (!e.failed && e.alg) flows.push(e.alg);
    return { infoHash: t.infoHash, datapath: this.name, stats: t.stats, flows, nowMs: performance.now() };
  }

  private algContext(entry: FlowEntry): Record<string, unknown> {
    return {
      info: entry.info,
      datapath: entry,
      params: this.env.params,
      shared: this.env.shared,
      log: (message: string) => this.env.log(`${entry.label}: ${message}`),
    };
  }

  private swarmContext(infoHash: string): Record<string, unknown> {
    return {
      infoHash,
      datapath: this.name,
      params: this.env.params,
      shared: this.env.shared,
      log: (message: string) => this.env.log(`torrent ${infoHash.slice(0, 8)}… on ${this.name}: ${message}`),
    };
  }

  /** Runs algorithm code for one flow; an exception releases that flow and stops calls to it. */
  private runAlg<T>(entry: FlowEntry, hook: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.failFlow(entry, `${hook} threw: ${errStack(err)}`);
      return undefined;
    }
  }

  private failFlow(entry: FlowEntry, why: string): void {
    if (entry.failed) return;
    this.env.stats.algorithmFailures++;
    this.env.log(`${entry.label}: ${why}\n  → flow returned to the standard policy`);
    this.releaseFor(entry);
    entry.failed = true;
  }

  /** Runs swarm code; an exception releases every flow of the torrent and retires the policy. */
  private callSwarm(t: TorrentEntry, hook: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.env.log(`torrent ${t.infoHash} on ${this.name}: swarm ${hook} threw: ${errStack(err)}\n  → its flows return to the standard policy`);
      t.policy = null;
      for (const e of t.flows) this.failFlow(e, `swarm policy failed`);
    }
  }

  private closeFlow(entry: FlowEntry): void {
    this.flows.delete(entry.info.flowId);
    const alg = entry.alg;
    if (alg?.onClose && !entry.failed) this.runAlg(entry, 'onClose', () => alg.onClose!());
    const t = this.torrents.get(entry.info.infoHash);
    if (!t) return;
    t.flows.delete(entry);
    if (alg && !entry.failed && t.policy?.onFlowRemoved) {
      const policy = t.policy;
      this.callSwarm(t, 'onFlowRemoved', () => policy.onFlowRemoved!(alg, this.view(t)));
    }
    if (t.flows.size === 0) this.torrents.delete(t.infoHash);
  }

  /** Forget everything about this datapath (it left, restarted, or dropped us). */
  private reset(): void {
    for (const entry of [...this.flows.values()]) this.closeFlow(entry);
    this.flows.clear();
    this.torrents.clear();
    this.programs.clear();
    this.dirty.length = 0;
    this.ready = false;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private guarded(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.env.log(`datapath ${this.name}: ${what} failed: ${errStack(err)}`);
    }
  }
}

function flowInfo(msg: FlowCreatedMsg, datapath: string): FlowInfo {
  const host = String(msg.peerHost);
  return {
    flowId: msg.flowId,
    datapath,
    infoHash: hex(msg.infoHash),
    peerHost: host,
    peerPort: msg.peerPort,
    peerAddress: host.includes(':') ? `[${host}]:${msg.peerPort}` : `${host}:${msg.peerPort}`,
    peerId: hex(msg.peerId),
    pieceLength: msg.pieceLength,
    pieceCount: msg.pieceCount,
    totalBytes: msg.totalBytes,
  };
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function fieldChunks(map: ReadonlyMap<string, number>): FieldValue[][] {
  const out: FieldValue[][] = [];
  let chunk: FieldValue[] = [];
  for (const [name, value] of map) {
    if (chunk.length === MAX_FIELDS) {
      out.push(chunk);
      chunk = [];
    }
    chunk.push({ name, value });
  }
  if (chunk.length > 0) out.push(chunk);
  return out;
}

function errorMsg(code: ErrorCode, flowId: number, programId: number, message: string): ErrorMsg {
  return { type: MsgType.Error, code, flowId, programId, message };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function errStack(err: unknown): string {
  if (err instanceof Error) return err.stack?.split('\n').slice(0, 4).join('\n') ?? err.message;
  return String(err);
}

function isProgramLike(p: unknown): p is Program {
  return typeof p === 'object' && p !== null && typeof (p as { source?: unknown }).source === 'string';
}
