// The messages between a datapath and an agent, as values. Byte layouts live in codec.ts and
// docs/protocol.md. Nothing here knows BitTorrent: flow info carries the fields a datapath
// describes its flows with, as opaque bytes, strings and numbers.

export const PROTOCOL_VERSION = 1;

export enum MsgType {
  Hello = 1, // datapath → agent: I am here, speaking version N
  Ready = 2, // agent → datapath: accepted; heartbeat period
  Heartbeat = 3, // agent → datapath: still alive
  FlowCreated = 4, // datapath → agent
  FlowClosed = 5, // datapath → agent
  InstallProgram = 6, // agent → datapath: compile this program under an id
  ProgramInstalled = 7, // datapath → agent: compiled (with its Report variables) — or an Error
  SwitchProgram = 8, // agent → datapath: run program P on flow F, with initial field values
  UpdateFields = 9, // agent → datapath: set fields (controls or program variables) of a flow
  Report = 10, // datapath → agent: a flow's Report variables
  TorrentReport = 11, // datapath → agent: swarm totals of one torrent
  Error = 12, // either way
  Goodbye = 13, // either way: detaching
}

export interface FieldValue {
  readonly name: string;
  readonly value: number;
}

export interface HelloMsg {
  readonly type: MsgType.Hello;
  readonly version: number;
  readonly datapathName: string;
  readonly pid: number;
}
export interface ReadyMsg {
  readonly type: MsgType.Ready;
  readonly version: number;
  readonly heartbeatMs: number;
  readonly agentName: string;
}
export interface HeartbeatMsg {
  readonly type: MsgType.Heartbeat;
  readonly timeUs: number;
}
export interface FlowCreatedMsg {
  readonly type: MsgType.FlowCreated;
  readonly flowId: number;
  readonly infoHash: Uint8Array; // 20 bytes
  readonly peerHost: string;
  readonly peerPort: number;
  readonly peerId: Uint8Array; // 20 bytes (zeros when unknown)
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly totalBytes: number;
}
export interface FlowClosedMsg {
  readonly type: MsgType.FlowClosed;
  readonly flowId: number;
  readonly reason: string;
}
export interface InstallProgramMsg {
  readonly type: MsgType.InstallProgram;
  readonly programId: number;
  readonly source: string;
}
export interface ProgramInstalledMsg {
  readonly type: MsgType.ProgramInstalled;
  readonly programId: number;
  readonly reportVars: readonly string[]; // names without the "Report." prefix, in report order
}
export interface SwitchProgramMsg {
  readonly type: MsgType.SwitchProgram;
  readonly flowId: number;
  readonly programId: number;
  /** Increases with every switch of this flow; reports carry it so stale ones are recognised. */
  readonly epoch: number;
  readonly fields: readonly FieldValue[];
}
export interface UpdateFieldsMsg {
  readonly type: MsgType.UpdateFields;
  readonly flowId: number;
  readonly fields: readonly FieldValue[];
}
export interface ReportMsg {
  readonly type: MsgType.Report;
  readonly flowId: number;
  readonly programId: number;
  readonly epoch: number;
  readonly timeUs: number;
  readonly values: Float64Array | readonly number[];
}
export interface TorrentReportMsg {
  readonly type: MsgType.TorrentReport;
  readonly infoHash: Uint8Array;
  readonly timeUs: number;
  readonly values: Float64Array | readonly number[]; // the Torrent bank, in schema order
}

export enum ErrorCode {
  VersionMismatch = 1,
  Malformed = 2,
  UnknownFlow = 3,
  UnknownProgram = 4,
  CompileFailed = 5,
  UnknownField = 6,
  BadValue = 7,
  Overloaded = 8,
  Internal = 9,
}
export interface ErrorMsg {
  readonly type: MsgType.Error;
  readonly code: ErrorCode;
  readonly flowId: number; // 0 when not about a flow
  readonly programId: number; // 0 when not about a program
  readonly message: string;
}
export interface GoodbyeMsg {
  readonly type: MsgType.Goodbye;
  readonly reason: string;
}

export type Message =
  | HelloMsg
  | ReadyMsg
  | HeartbeatMsg
  | FlowCreatedMsg
  | FlowClosedMsg
  | InstallProgramMsg
  | ProgramInstalledMsg
  | SwitchProgramMsg
  | UpdateFieldsMsg
  | ReportMsg
  | TorrentReportMsg
  | ErrorMsg
  | GoodbyeMsg;
