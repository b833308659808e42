// The algorithm API: everything an algorithm imports, and the only thing. It stays stable when the
// wire protocol changes (docs/agent-api.md).
//
// An algorithm module exports:
//   default   — a subclass of Algorithm: one instance per flow (peer connection)
//   swarm     — optionally, a subclass of SwarmPolicy: one instance per torrent, sees all its flows
//   programs  — optionally, named DSL programs, installed on every datapath when it attaches
//   describe  — optionally, one line for `ccp-bt connect --list`
//   checkParams — optionally, a function that rejects bad `--set` values up front
import { takeContext } from './context.js';
import type { Params } from './params.js';

export { Params, ParamError } from './params.js';

/** A flow (one peer connection) as an algorithm sees it. */
export interface FlowInfo {
  /** Unique within its datapath. */
  readonly flowId: number;
  /** The datapath's name (from its Hello), e.g. "seed-1234". */
  readonly datapath: string;
  /** Torrent info-hash, 40 hex digits (zeros while unknown, e.g. a proxy before the handshake). */
  readonly infoHash: string;
  readonly peerHost: string;
  readonly peerPort: number;
  /** "host:port" ("[v6]:port"). */
  readonly peerAddress: string;
  /** The peer's 20-byte id as 40 hex digits (zeros while unknown). */
  readonly peerId: string;
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly totalBytes: number;
}

/** Attached to every report: when it was taken (datapath clock) and which program run it belongs to. */
export interface ReportMeta {
  /** The datapath's monotonic clock when the program reported, µs. */
  readonly timeUs: number;
  readonly flowId: number;
  readonly programId: number;
  readonly epoch: number;
}

/** Field values: numbers, or booleans (sent as 1/0) for Choke and boolean variables. */
export type FieldValueInput = number | boolean;
export type FieldMap = Readonly<Record<string, FieldValueInput>>;

/** A DSL program with an optional name (used in logs). */
export class Program {
  constructor(
    readonly source: string,
    readonly name?: string,
  ) {
    if (typeof source !== 'string' || source.trim() === '') throw new TypeError('Program: source must be non-empty text');
  }
}

/** Tags a program's source, for readability: `const prog = program\`(def …)\`;` or `program(src, 'name')`. */
export function program(source: string | TemplateStringsArray, name?: string): Program {
  return new Program(typeof source === 'string' ? source : source.join(''), name);
}

/** The flow's datapath as an algorithm steers it. Calls are batched: all made in one turn leave together. */
export interface FlowHandle {
  /**
   * Runs `program` on this flow from now on (a source text, a Program, or the name of one of the
   * module's `programs`), with initial field values. Reports of the previous program stop reaching
   * onReport at once, even those already on their way.
   */
  install(program: string | Program, fields?: FieldMap): void;
  /** Sets a control (Rate bytes/s, Choke, Window) or a program variable (Report.x or a state name). */
  updateField(name: string, value: FieldValueInput): void;
  updateFields(fields: FieldMap): void;
  /** Hands this flow back to the datapath's standard policy (no program, no caps). */
  release(): void;
}

export type AgentErrorCode =
  | 'VersionMismatch'
  | 'Malformed'
  | 'UnknownFlow'
  | 'UnknownProgram'
  | 'CompileFailed'
  | 'UnknownField'
  | 'BadValue'
  | 'Overloaded'
  | 'Internal';

/** A problem the datapath reported about something this flow (or its program) asked for. */
export interface AgentError {
  readonly code: AgentErrorCode;
  readonly message: string;
  readonly flowId: number;
  readonly programId: number;
  readonly datapath: string;
}

/** What every algorithm and swarm policy gets from the agent. */
interface AlgorithmContext {
  info: FlowInfo;
  datapath: FlowHandle;
  params: Params;
  shared: <T>(key: string, make: () => T) => T;
  log: (message: string) => void;
}

/**
 * One instance per flow (CCP's on_create/on_report). Subclasses take no constructor arguments; `info`,
 * `datapath` and `params` are already set when field initialisers run.
 */
export abstract class Algorithm<R extends object = Record<string, number>> {
  readonly info: FlowInfo;
  readonly datapath: FlowHandle;
  readonly params: Params;
  /** The latest report (what onReport last received), for swarm policies to read. */
  lastReport: (R & ReportMeta) | null = null;
  private readonly ctx: AlgorithmContext;

  constructor() {
    this.ctx = takeContext('algorithm') as unknown as AlgorithmContext;
    this.info = this.ctx.info;
    this.datapath = this.ctx.datapath;
    this.params = this.ctx.params;
  }

  /** The flow is new (or the agent just attached): install a program, set fields. */
  abstract onCreate(): void;
  /** The program reported: its Report variables by name, plus timeUs/flowId/programId/epoch. */
  abstract onReport(report: R & ReportMeta): void;
  /** The flow closed (or the datapath went away). */
  onClose?(): void;
  /** The datapath refused something this flow asked for. Without this hook the agent logs it. */
  onError?(e: AgentError): void;

  /** An object shared by every flow of this agent (all datapaths, all torrents) under `key`. */
  protected shared<T>(key: string, make: () => T): T {
    return this.ctx.shared(key, make);
  }

  /** Logs a line tagged with this flow (id, peer, datapath). */
  protected log(message: string): void {
    this.ctx.log(message);
  }
}

/**
 * Any algorithm class's instances, whatever its report type (what swarm policies and the agent hold).
 * `onReport(report: never)` accepts every subclass's own parameter type.
 */
export interface AnyAlgorithm {
  readonly info: FlowInfo;
  readonly datapath: FlowHandle;
  readonly params: Params;
  lastReport: object | null;
  onCreate(): void;
  onReport(report: never): void;
  onClose?(): void;
  onError?(e: AgentError): void;
}

/** Swarm totals of one torrent, from the datapath's TorrentReport. */
export interface TorrentStats {
  /** bytes/s */
  readonly rate_out: number;
  /** bytes/s */
  readonly rate_in: number;
  readonly peers: number;
  readonly unchoked: number;
  readonly left_bytes: number;
  readonly seeding: boolean;
  /** Datapath clock, µs. */
  readonly timeUs: number;
}

/** One torrent of one datapath, as a swarm policy sees it. */
export interface TorrentView<A extends AnyAlgorithm = Algorithm> {
  /** 40 hex digits. */
  readonly infoHash: string;
  readonly datapath: string;
  /** Latest TorrentReport, or null before the first. */
  readonly stats: TorrentStats | null;
  /** The live flows of this torrent (flows whose algorithm failed are left out). */
  readonly flows: readonly A[];
  /** Agent clock, ms (monotonic). */
  readonly nowMs: number;
}

interface SwarmContext {
  infoHash: string;
  datapath: string;
  params: Params;
  shared: <T>(key: string, make: () => T) => T;
  log: (message: string) => void;
}

/**
 * One instance per torrent per datapath: decides what spans flows (the unchoke set, shares of a total).
 * Hooks run after the per-flow hooks of the same event.
 */
export abstract class SwarmPolicy<A extends AnyAlgorithm = Algorithm> {
  readonly infoHash: string;
  readonly datapathName: string;
  readonly params: Params;
  /** How often onTick runs, ms (set it in a field initialiser or the constructor). */
  tickMs = 1000;
  private readonly ctx: SwarmContext;

  constructor() {
    this.ctx = takeContext('swarm') as unknown as SwarmContext;
    this.infoHash = this.ctx.infoHash;
    this.datapathName = this.ctx.datapath;
    this.params = this.ctx.params;
  }

  /** A flow joined (after its onCreate). */
  onFlowAdded?(flow: A, t: TorrentView<A>): void;
  /** A flow left (after its onClose). */
  onFlowRemoved?(flow: A, t: TorrentView<A>): void;
  /** A flow reported (after its onReport). */
  onReport?(flow: A, t: TorrentView<A>): void;
  /** The datapath sent the torrent's totals (about once a second). */
  onTorrentReport?(t: TorrentView<A>): void;
  /** Every `tickMs`. */
  onTick?(t: TorrentView<A>): void;

  protected shared<T>(key: string, make: () => T): T {
    return this.ctx.shared(key, make);
  }

  protected log(message: string): void {
    this.ctx.log(message);
  }
}

export type AlgorithmClass = new () => AnyAlgorithm;
export type SwarmPolicyClass = new () => SwarmPolicy<never>;

/** What an algorithm module (built-in or a user's .ts file) exports. */
export interface AlgorithmModule {
  readonly default: AlgorithmClass;
  readonly swarm?: SwarmPolicyClass;
  readonly programs?: Readonly<Record<string, string | Program>>;
  readonly describe?: string;
  /** Checks `--set` values before anything starts (throw an Error that names the problem). */
  readonly checkParams?: (params: Params) => void;
}
