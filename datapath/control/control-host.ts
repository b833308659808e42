// The datapath side of the control plane (libccp's ccp.c): announces itself to agents, runs each flow's
// installed program on every flow event and on a periodic tick, sends the reports programs ask for,
// applies control fields, and falls back to the standard policy when the agent goes quiet.
//
// Nothing an agent sends may crash or stall the datapath: every handler is guarded, work per message is
// bounded, and each problem goes back to the agent as an Error message.
import type { ControlledFlow, FlowEventSink, FlowSource } from '../flow/flow-api.js';
import {
  ErrorCode,
  MsgType,
  PROTOCOL_VERSION,
  type ErrorMsg,
  type FieldValue,
  type InstallProgramMsg,
  type Message,
  type ReadyMsg,
  type SwitchProgramMsg,
  type UpdateFieldsMsg,
} from '../../protocol/messages.js';
import type { Channel } from '../../protocol/transport.js';
import { MAX_FIELDS } from '../../protocol/limits.js';
import { HELLO_RETRY_MS, fallbackAfterMs } from '../../protocol/handshake.js';
import { EVENT, EVENT_BANK_SIZE } from '../program/schema.js';
import { nowMs, nowUs } from './clock.js';
import { compileForDatapath, type CompiledProgram } from './compiled-program.js';
import { ErrorLimiter } from './error-limiter.js';
import { checkFieldValue, isControlName } from './field-values.js';
import { FlowSlot } from './flow-slot.js';

export interface ControlHostOptions {
  /** Sent in Hello so the agent can tell datapaths apart. */
  readonly name: string;
  /** Period of the tick that runs every programmed flow with Event.tick = 1 (ms, ≥ 5). */
  readonly tickMs?: number;
  /** Period of Hello while no agent is attached (ms). */
  readonly helloMs?: number;
  /** Period of TorrentReport per torrent while attached (ms; 0 = never). */
  readonly torrentReportMs?: number;
  /** Agent silence after which flows return to the standard policy (ms). Default: 3 × the agent's heartbeat. */
  readonly agentTimeoutMs?: number;
  /** Upper bound on programs installed at once. */
  readonly maxPrograms?: number;
  readonly log?: (line: string) => void;
}

/** Upper bound on fields in one SwitchProgram/UpdateFields message (bounded work per message). */
export const MAX_FIELDS_PER_MESSAGE = MAX_FIELDS;
const MAX_HEARTBEAT_MS = 60_000;

/** One agent address the host may attach to; a lower index has priority (unix before in-process). */
interface Link {
  readonly channel: Channel;
  readonly index: number;
  readonly errors: ErrorLimiter;
}

export interface ControlHostStats {
  events: number;
  runs: number;
  reports: number;
  errorsSent: number;
  attaches: number;
  timeouts: number;
  channelErrors: number;
}

export class ControlHost implements FlowEventSink {
  private readonly links: Link[];
  private readonly slots = new Map<number, FlowSlot>();
  private readonly programs = new Map<number, CompiledProgram>();
  private readonly tickEvent = new Float64Array(EVENT_BANK_SIZE);
  private attached: Link | null = null;
  private lastHeardMs = 0;
  private timeoutMs = 3000;
  private lastHelloMs = -Infinity;
  private lastTorrentReportMs = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Checks the agent's silence more often than the tick when the timeout is short. */
  private watchdog: NodeJS.Timeout | null = null;
  private running = false;
  private lastChannelErrorLogMs = -Infinity;
  private readonly tickMs: number;
  private readonly helloMs: number;
  private readonly torrentReportMs: number;
  private readonly maxPrograms: number;
  private readonly log: (line: string) => void;
  readonly stats: ControlHostStats = { events: 0, runs: 0, reports: 0, errorsSent: 0, attaches: 0, timeouts: 0, channelErrors: 0 };

  constructor(
    private readonly source: FlowSource,
    channels: Channel | readonly Channel[],
    private readonly opts: ControlHostOptions,
  ) {
    const list = Array.isArray(channels) ? channels : [channels as Channel];
    this.links = list.map((channel, index) => ({ channel, index, errors: new ErrorLimiter() }));
    this.tickMs = Math.max(5, opts.tickMs ?? 100);
    this.helloMs = Math.max(10, opts.helloMs ?? HELLO_RETRY_MS);
    this.torrentReportMs = opts.torrentReportMs ?? 1000;
    this.maxPrograms = opts.maxPrograms ?? 1024;
    this.log = opts.log ?? ((line) => process.stderr.write(`control: ${line}\n`));
    this.tickEvent[EVENT.tick] = 1;
  }

  /** True while an agent steers this datapath. */
  get isAttached(): boolean {
    return this.attached !== null;
  }

  /** Which channel is attached (its description), for logs and tests. */
  get attachedTo(): string | null {
    return this.attached?.channel.description ?? null;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const link of this.links) {
      link.channel.onMessage((msg) => this.guard(link, () => this.onMessage(link, msg)));
      // The transport already answers undecodable input with an Error; here it is only logged, sparingly.
      link.channel.onError((err) => this.noteChannelError(link, err));
    }
    for (const flow of this.source.liveFlows()) this.ensureSlot(flow);
    this.source.setFlowSink(this);
    this.timer = setInterval(() => this.housekeeping(), this.tickMs);
    this.timer.unref();
    this.housekeeping();
  }

  /** Detaches from the agent (Goodbye), returns every flow to the standard policy, stops timers. */
  stop(reason = 'datapath stopping'): void {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.attached) this.attached.channel.send({ type: MsgType.Goodbye, reason });
    this.detach();
    this.source.setFlowSink(null);
  }

  // ---- FlowEventSink (called by the engine) ----

  flowOpened(flow: ControlledFlow): void {
    this.ensureSlot(flow);
    if (this.attached) this.attached.channel.send(flowCreated(flow));
  }

  flowEvent(flow: ControlledFlow, event: Float64Array): void {
    const slot = this.slots.get(flow.info.flowId);
    if (slot === undefined || slot.inst === null) return;
    this.stats.events++;
    // Sources stamp their events with the shared monotonic clock; stamp those that did not.
    if (event[EVENT.now_us] === 0) event[EVENT.now_us] = nowUs();
    this.runSlot(slot, event);
  }

  flowClosed(flow: ControlledFlow, reason: string): void {
    const id = flow.info.flowId;
    if (!this.slots.delete(id)) return;
    if (this.attached) this.attached.channel.send({ type: MsgType.FlowClosed, flowId: id, reason: String(reason).slice(0, 200) });
  }

  // ---- running programs ----

  private runSlot(slot: FlowSlot, event: Float64Array): void {
    let reported: boolean;
    try {
      reported = slot.run(event);
    } catch (err) {
      // A program or an engine knob that throws costs that flow its program, nothing more.
      const message = `flow ${slot.flowId}: program ${slot.programId} failed: ${errText(err)}`;
      const programId = slot.programId;
      this.releaseSlot(slot);
      if (this.attached) this.sendError(this.attached, ErrorCode.Internal, slot.flowId, programId, message);
      return;
    }
    this.stats.runs++;
    if (reported && this.attached) {
      this.stats.reports++;
      this.attached.channel.send({
        type: MsgType.Report,
        flowId: slot.flowId,
        programId: slot.programId,
        epoch: slot.epoch,
        timeUs: event[EVENT.now_us]!,
        values: slot.inst!.report.slice(),
      });
    }
  }

  private tick(now: number): void {
    const ev = this.tickEvent;
    ev[EVENT.now_us] = now * 1000;
    for (const slot of this.slots.values()) {
      if (slot.inst !== null) this.runSlot(slot, ev);
    }
  }

  private housekeeping(): void {
    try {
      const now = nowMs();
      if (this.attached && this.checkAgentAlive(now)) {
        this.tick(now);
        if (this.torrentReportMs > 0 && now - this.lastTorrentReportMs >= this.torrentReportMs) {
          this.lastTorrentReportMs = now;
          this.sendTorrentReports(now);
        }
      }
      if (now - this.lastHelloMs >= this.helloMs) {
        this.lastHelloMs = now;
        this.sendHellos();
      }
    } catch (err) {
      this.log(`housekeeping failed: ${errText(err)}`);
    }
  }

  /** False (and detached) when the agent has been silent past the timeout. */
  private checkAgentAlive(now: number): boolean {
    if (!this.attached) return false;
    if (now - this.lastHeardMs <= this.timeoutMs) return true;
    this.stats.timeouts++;
    const silent = Math.round(now - this.lastHeardMs);
    this.log(`agent ${this.attached.channel.description} silent for ${silent} ms (timeout ${this.timeoutMs} ms): flows back to the standard policy`);
    this.detach();
    return false;
  }

  private sendHellos(): void {
    const limit = this.attached ? this.attached.index : this.links.length;
    for (let i = 0; i < limit; i++) {
      this.links[i]!.channel.send({ type: MsgType.Hello, version: PROTOCOL_VERSION, datapathName: this.opts.name, pid: process.pid });
    }
  }

  private sendTorrentReports(now: number): void {
    const seen = new Set<Float64Array>();
    for (const slot of this.slots.values()) {
      const stats = slot.flow.torrentStats;
      if (seen.has(stats)) continue;
      seen.add(stats);
      this.attached!.channel.send({ type: MsgType.TorrentReport, infoHash: slot.flow.info.infoHash, timeUs: now * 1000, values: stats.slice() });
    }
  }

  // ---- messages from agents ----

  private guard(link: Link, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      try {
        this.sendError(link, ErrorCode.Internal, 0, 0, `datapath could not handle a message: ${errText(err)}`);
      } catch {
        // The channel itself failed; nothing more to tell.
      }
    }
  }

  private onMessage(link: Link, msg: Message): void {
    if (msg === null || typeof msg !== 'object') {
      this.sendError(link, ErrorCode.Malformed, 0, 0, 'message is not an object');
      return;
    }
    if (msg.type === MsgType.Ready) return this.onReady(link, msg);
    if (link !== this.attached) {
      // Life signs and farewells from an agent we are not attached to need no answer.
      if (msg.type === MsgType.Heartbeat || msg.type === MsgType.Goodbye) return;
      if (msg.type === MsgType.Error) return this.log(`error from unattached agent ${link.channel.description}: ${String(msg.message)}`);
      this.sendError(link, ErrorCode.Malformed, flowIdOf(msg), 0, `${msgName(msg.type)} before Ready: this datapath is not attached to you (answer its Hello with Ready)`);
      return;
    }
    this.lastHeardMs = nowMs();
    switch (msg.type) {
      case MsgType.Heartbeat:
        return;
      case MsgType.InstallProgram:
        return this.onInstall(link, msg);
      case MsgType.SwitchProgram:
        return this.onSwitch(link, msg);
      case MsgType.UpdateFields:
        return this.onUpdate(link, msg);
      case MsgType.Goodbye:
        this.log(`agent ${link.channel.description} said goodbye (${String(msg.reason)}): flows back to the standard policy`);
        this.detach();
        this.lastHelloMs = -Infinity; // another agent may be waiting for our Hello
        return;
      case MsgType.Error:
        this.log(`error from agent: ${String(msg.message)}`);
        return;
      default:
        this.sendError(link, ErrorCode.Malformed, 0, 0, `unexpected ${msgName(msg.type)} from an agent`);
    }
  }

  private onReady(link: Link, msg: ReadyMsg): void {
    if (msg.version !== PROTOCOL_VERSION) {
      this.sendError(link, ErrorCode.VersionMismatch, 0, 0, `protocol version mismatch: datapath speaks version ${PROTOCOL_VERSION}, agent's Ready says version ${String(msg.version)}`);
      return;
    }
    const hb = msg.heartbeatMs;
    if (typeof hb !== 'number' || !Number.isFinite(hb) || hb <= 0 || hb > MAX_HEARTBEAT_MS) {
      this.sendError(link, ErrorCode.BadValue, 0, 0, `Ready: heartbeatMs ${String(hb)} is not in 1..${MAX_HEARTBEAT_MS}`);
      return;
    }
    if (this.attached && this.attached.index < link.index) {
      this.sendError(link, ErrorCode.Malformed, 0, 0, `Ready refused: agent ${this.attached.channel.description} is attached and has priority`);
      return;
    }
    if (this.attached) {
      if (this.attached !== link) this.attached.channel.send({ type: MsgType.Goodbye, reason: `superseded by agent ${link.channel.description}` });
      this.detach();
    }
    this.attached = link;
    this.stats.attaches++;
    this.timeoutMs = this.opts.agentTimeoutMs ?? fallbackAfterMs(hb);
    this.lastHeardMs = nowMs();
    const checkMs = Math.max(10, Math.min(this.tickMs, this.timeoutMs / 8));
    if (checkMs < this.tickMs) {
      this.watchdog = setInterval(() => this.checkAgentAlive(nowMs()), checkMs);
      this.watchdog.unref();
    }
    this.lastTorrentReportMs = 0;
    // The source is the truth about live flows (a flow may have opened while nobody listened).
    const live = new Set<number>();
    for (const flow of this.source.liveFlows()) {
      this.ensureSlot(flow);
      live.add(flow.info.flowId);
    }
    for (const id of this.slots.keys()) if (!live.has(id)) this.slots.delete(id);
    for (const slot of this.slots.values()) link.channel.send(flowCreated(slot.flow));
  }

  private onInstall(link: Link, msg: InstallProgramMsg): void {
    const id = msg.programId;
    if (!isId(id)) return this.sendError(link, ErrorCode.BadValue, 0, 0, `InstallProgram: program id ${String(id)} is not an integer in 1..2^32-1`);
    if (typeof msg.source !== 'string') return this.sendError(link, ErrorCode.Malformed, 0, id, 'InstallProgram: source is not text');
    if (!this.programs.has(id) && this.programs.size >= this.maxPrograms) {
      return this.sendError(link, ErrorCode.Overloaded, 0, id, `InstallProgram: ${this.maxPrograms} programs installed already`);
    }
    const outcome = compileForDatapath(msg.source);
    if (!outcome.ok) return this.sendError(link, ErrorCode.CompileFailed, 0, id, outcome.message);
    this.programs.set(id, outcome.compiled);
    link.channel.send({ type: MsgType.ProgramInstalled, programId: id, reportVars: outcome.compiled.reportVars });
  }

  private onSwitch(link: Link, msg: SwitchProgramMsg): void {
    const slot = this.slots.get(msg.flowId);
    if (slot === undefined) return this.sendError(link, ErrorCode.UnknownFlow, numOr0(msg.flowId), numOr0(msg.programId), `SwitchProgram: no live flow ${String(msg.flowId)}`);
    if (typeof msg.epoch !== 'number' || !Number.isFinite(msg.epoch)) {
      return this.sendError(link, ErrorCode.BadValue, slot.flowId, 0, `SwitchProgram: epoch ${String(msg.epoch)} is not a number`);
    }
    // Program 0 is the release convention: no program, the standard policy takes the flow back.
    if (msg.programId === 0) {
      this.releaseSlot(slot);
      slot.epoch = msg.epoch;
      return;
    }
    const compiled = this.programs.get(msg.programId);
    if (compiled === undefined) return this.sendError(link, ErrorCode.UnknownProgram, slot.flowId, numOr0(msg.programId), `SwitchProgram: program ${String(msg.programId)} is not installed`);
    const resolved = this.resolveFields(link, slot, compiled, msg.fields, 'SwitchProgram', msg.programId);
    if (resolved === null) return;
    slot.switchTo(msg.programId, msg.epoch, compiled);
    for (let i = 0; i < resolved.length; i += 3) slot.setField(resolved[i] as string, resolved[i + 1] as number, resolved[i + 2] as number);
    this.syncSlot(link, slot);
  }

  private onUpdate(link: Link, msg: UpdateFieldsMsg): void {
    const slot = this.slots.get(msg.flowId);
    if (slot === undefined) return this.sendError(link, ErrorCode.UnknownFlow, numOr0(msg.flowId), 0, `UpdateFields: no live flow ${String(msg.flowId)}`);
    const resolved = this.resolveFields(link, slot, slot.compiled, msg.fields, 'UpdateFields', slot.programId);
    if (resolved === null) return;
    for (let i = 0; i < resolved.length; i += 3) slot.setField(resolved[i] as string, resolved[i + 1] as number, resolved[i + 2] as number);
    this.syncSlot(link, slot);
  }

  /**
   * Checks every field before any is set (a message applies whole or not at all). Returns flat
   * [name, regIndex, value, …] or null after sending the Error.
   */
  private resolveFields(link: Link, slot: FlowSlot, compiled: CompiledProgram | null, fields: readonly FieldValue[], what: string, programId: number): (string | number)[] | null {
    if (!Array.isArray(fields)) {
      this.sendError(link, ErrorCode.Malformed, slot.flowId, programId, `${what}: fields is not a list`);
      return null;
    }
    if (fields.length > MAX_FIELDS_PER_MESSAGE) {
      this.sendError(link, ErrorCode.BadValue, slot.flowId, programId, `${what}: ${fields.length} fields (at most ${MAX_FIELDS_PER_MESSAGE})`);
      return null;
    }
    const out: (string | number)[] = [];
    for (const f of fields) {
      const name = f?.name;
      const value = f?.value;
      if (typeof name !== 'string') {
        this.sendError(link, ErrorCode.Malformed, slot.flowId, programId, `${what}: a field has no name`);
        return null;
      }
      const index = compiled ? compiled.fieldIndex(name) : isControlName(name) ? 0 : -1;
      if (index < 0) {
        const why = compiled ? `program ${programId} has no field '${name}'` : `flow ${slot.flowId} runs no program, so only Rate, Choke and Window can be set, not '${name}'`;
        this.sendError(link, ErrorCode.UnknownField, slot.flowId, programId, `${what}: ${why}`);
        return null;
      }
      const problem = checkFieldValue(name, value as number);
      if (problem !== null) {
        this.sendError(link, ErrorCode.BadValue, slot.flowId, programId, `${what}: ${problem}`);
        return null;
      }
      out.push(name, index, value as number);
    }
    return out;
  }

  private syncSlot(link: Link, slot: FlowSlot): void {
    try {
      slot.syncControls();
    } catch (err) {
      this.releaseSlot(slot);
      this.sendError(link, ErrorCode.Internal, slot.flowId, 0, `flow ${slot.flowId}: applying controls failed: ${errText(err)}`);
    }
  }

  // ---- state ----

  private ensureSlot(flow: ControlledFlow): FlowSlot {
    const id = flow.info.flowId;
    let slot = this.slots.get(id);
    if (slot === undefined) {
      slot = new FlowSlot(flow, this.tickEvent);
      this.slots.set(id, slot);
    }
    return slot;
  }

  private releaseSlot(slot: FlowSlot): void {
    try {
      slot.release();
    } catch (err) {
      this.log(`flow ${slot.flowId}: releaseControls failed: ${errText(err)}`);
    }
  }

  /** Every flow back to the standard policy; programs forgotten; Hellos resume. */
  private detach(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    for (const slot of this.slots.values()) this.releaseSlot(slot);
    this.programs.clear();
    this.attached = null;
  }

  private noteChannelError(link: Link, err: Error): void {
    this.stats.channelErrors++;
    const now = nowMs();
    if (now - this.lastChannelErrorLogMs < 1000) return;
    this.lastChannelErrorLogMs = now;
    this.log(`channel ${link.channel.description}: ${err.message}`);
  }

  private sendError(link: Link, code: ErrorCode, flowId: number, programId: number, message: string): void {
    const err: ErrorMsg = { type: MsgType.Error, code, flowId, programId, message: message.slice(0, 4000) };
    for (const m of link.errors.admit(err, nowMs())) {
      this.stats.errorsSent++;
      link.channel.send(m);
    }
  }
}

function flowCreated(flow: ControlledFlow): Message {
  const i = flow.info;
  return {
    type: MsgType.FlowCreated,
    flowId: i.flowId,
    infoHash: i.infoHash,
    peerHost: i.peerHost,
    peerPort: i.peerPort,
    peerId: i.peerId,
    pieceLength: i.pieceLength,
    pieceCount: i.pieceCount,
    totalBytes: i.totalBytes,
  };
}

function isId(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 0xffffffff;
}

function numOr0(n: unknown): number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : 0;
}

function flowIdOf(msg: Message): number {
  return 'flowId' in msg ? numOr0(msg.flowId) : 0;
}

function msgName(type: unknown): string {
  return typeof type === 'number' && MsgType[type] !== undefined ? MsgType[type] : `message type ${String(type)}`;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
