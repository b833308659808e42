// The sending half of a channel: messages are encoded as they are sent into the datagram being built,
// which goes out when full or at the end of the tick (a microtask), so everything sent in one tick
// shares datagrams. A congested socket keeps its datagrams in a bounded backlog and resends when told
// there is room. Past the bound nothing is lost silently: UpdateFields to one flow coalesce (latest
// value per field wins), other control messages wait in order, reports are dropped and counted, and
// the peer is told how many with an Error(Overloaded) once the queue drains.
import { DatagramWriter, copyDatagram, datagramMessageCount, measureBody, setDatagramSequence } from './codec.js';
import { MAX_FIELDS } from './limits.js';
import { ErrorCode, MsgType, type FieldValue, type Message, type UpdateFieldsMsg } from './messages.js';

export type SendOutcome = 'sent' | 'congested' | 'gone';

/** Where an Outbox hands datagrams. `datagram` is a view the sink must not keep (copy it to keep it). */
export interface DatagramSink {
  trySend(datagram: Buffer): SendOutcome;
}

export interface OutboxOptions {
  readonly maxDatagramBytes?: number;
  /** Datagrams kept while the socket is congested before overflow handling starts. */
  readonly maxBacklogDatagrams?: number;
  /** Control messages kept (in order) beyond the backlog before they too are dropped and counted. */
  readonly maxOverflowMessages?: number;
  /** The sink said 'congested': call `resume` when it can take more (socket writable, or a timer). */
  readonly waitForRoom: (resume: () => void) => void;
  /** The sink said 'gone': `messages` were discarded (the peer is not there). */
  readonly onDiscard?: (messages: number) => void;
}

export interface OutboxStats {
  readonly sentDatagrams: number;
  readonly sentMessages: number;
  /** Datagrams waiting for the socket to take them (0 when nothing is held back). */
  readonly queuedDatagrams: number;
  /** Messages held back beyond the backlog bound. */
  readonly overflowMessages: number;
  readonly droppedReports: number;
  readonly droppedOther: number;
  readonly coalescedUpdates: number;
  readonly discardedMessages: number;
  /** Times the socket was full and datagrams had to wait. */
  readonly congestedSends: number;
}

export const DEFAULT_MAX_BACKLOG_DATAGRAMS = 128;
export const DEFAULT_MAX_OVERFLOW_MESSAGES = 100_000;

function flowOf(msg: Message): number | undefined {
  switch (msg.type) {
    case MsgType.FlowCreated:
    case MsgType.FlowClosed:
    case MsgType.SwitchProgram:
    case MsgType.UpdateFields:
      return msg.flowId;
    default:
      return undefined;
  }
}

function mergeFields(older: readonly FieldValue[], newer: readonly FieldValue[]): FieldValue[] {
  const merged = older.slice();
  for (const f of newer) {
    const at = merged.findIndex((m) => m.name === f.name);
    if (at >= 0) merged[at] = f;
    else merged.push(f);
  }
  return merged;
}

export class Outbox {
  private readonly writer: DatagramWriter;
  private readonly maxBacklog: number;
  private readonly maxOverflow: number;
  private readonly backlog: Buffer[] = [];
  private overflow: Message[] = [];
  /** flowId → index in `overflow` of an UpdateFields later ones may merge into. */
  private mergeableUpdate = new Map<number, number>();
  private blocked = false;
  private flushQueued = false;
  private closed = false;
  private sequence = 0;
  // Drops not yet told to the peer.
  private untoldReports = 0;
  private untoldOther = 0;
  private counters = {
    sentDatagrams: 0,
    sentMessages: 0,
    droppedReports: 0,
    droppedOther: 0,
    coalescedUpdates: 0,
    discardedMessages: 0,
    congestedSends: 0,
  };
  private readonly flushNow = (): void => {
    this.flushQueued = false;
    if (!this.closed) this.sealCurrent();
  };
  private readonly resume = (): void => {
    this.blocked = false;
    if (!this.closed) this.drain();
  };

  constructor(
    private readonly sink: DatagramSink,
    private readonly opts: OutboxOptions,
  ) {
    this.writer = new DatagramWriter(opts.maxDatagramBytes);
    this.maxBacklog = Math.max(1, opts.maxBacklogDatagrams ?? DEFAULT_MAX_BACKLOG_DATAGRAMS);
    this.maxOverflow = Math.max(0, opts.maxOverflowMessages ?? DEFAULT_MAX_OVERFLOW_MESSAGES);
  }

  /** Queues `msg`. Throws ProtocolError (before queueing anything) when the message is invalid. */
  send(msg: Message): void {
    const bound = measureBody(msg);
    if (this.closed) return;
    if (this.backlog.length >= this.maxBacklog || this.overflow.length > 0) {
      this.hold(msg);
      return;
    }
    this.append(msg, bound);
  }

  /** Sends the datagram being built now instead of at the end of the tick. */
  flush(): void {
    if (!this.closed) this.sealCurrent();
  }

  stats(): OutboxStats {
    return {
      ...this.counters,
      queuedDatagrams: this.backlog.length + (this.writer.messageCount > 0 ? 1 : 0),
      overflowMessages: this.overflow.length,
    };
  }

  /** Sends what the socket takes right now, then drops the rest. Returns the messages not sent. */
  close(): number {
    if (this.closed) return 0;
    this.sealCurrent();
    if (!this.blocked) this.drainBacklog();
    this.closed = true;
    let unsent = this.overflow.length + this.writer.messageCount;
    for (const d of this.backlog) unsent += datagramMessageCount(d);
    this.backlog.length = 0;
    this.overflow = [];
    this.mergeableUpdate.clear();
    this.writer.reset();
    return unsent;
  }

  private append(msg: Message, bound: number): void {
    if (!this.writer.append(msg, bound)) {
      this.sealCurrent();
      this.writer.append(msg, bound); // an empty datagram holds any valid message
    }
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushNow);
    }
  }

  private sealCurrent(): void {
    if (this.writer.messageCount === 0) return;
    const datagram = this.writer.seal();
    if (!this.blocked && this.backlog.length === 0) {
      const outcome = this.attempt(datagram);
      if (outcome === 'congested') {
        this.backlog.push(copyDatagram(datagram));
        this.block();
      } else if (outcome === 'gone') {
        this.discard(datagramMessageCount(datagram));
      }
    } else {
      this.backlog.push(copyDatagram(datagram));
    }
    this.writer.reset();
  }

  private attempt(datagram: Buffer): SendOutcome {
    setDatagramSequence(datagram, this.sequence);
    const outcome = this.sink.trySend(datagram);
    if (outcome === 'sent') {
      this.sequence = (this.sequence + 1) >>> 0;
      this.counters.sentDatagrams++;
      this.counters.sentMessages += datagramMessageCount(datagram);
    }
    return outcome;
  }

  private block(): void {
    if (this.blocked) return;
    this.blocked = true;
    this.counters.congestedSends++;
    this.opts.waitForRoom(this.resume);
  }

  /** Sends backlog datagrams until the socket pushes back. True when the backlog is empty. */
  private drainBacklog(): boolean {
    while (this.backlog.length > 0) {
      const outcome = this.attempt(this.backlog[0]!);
      if (outcome === 'sent') {
        this.backlog.shift();
      } else if (outcome === 'congested') {
        this.block();
        return false;
      } else {
        this.discard(0);
        return true;
      }
    }
    return true;
  }

  private drain(): void {
    if (!this.drainBacklog()) return;
    if (this.overflow.length === 0 && this.untoldReports + this.untoldOther === 0) return;
    // Room again: first say what was dropped, then move held messages into datagrams until the
    // backlog is full again (what does not fit stays held, in order).
    if (this.untoldReports + this.untoldOther > 0) {
      const notice: Message = {
        type: MsgType.Error,
        code: ErrorCode.Overloaded,
        flowId: 0,
        programId: 0,
        message:
          `receiver not keeping up: dropped ${this.untoldReports} reports` +
          (this.untoldOther > 0 ? ` and ${this.untoldOther} other messages` : '') +
          ' while the send queue was full',
      };
      this.untoldReports = 0;
      this.untoldOther = 0;
      this.append(notice, measureBody(notice));
    }
    let moved = 0;
    while (moved < this.overflow.length && this.backlog.length < this.maxBacklog) {
      const msg = this.overflow[moved++]!;
      this.append(msg, measureBody(msg));
    }
    this.overflow.splice(0, moved);
    this.mergeableUpdate.clear();
    for (let i = 0; i < this.overflow.length; i++) {
      const m = this.overflow[i]!;
      if (m.type === MsgType.UpdateFields) this.mergeableUpdate.set(m.flowId, i);
      else {
        const f = flowOf(m);
        if (f !== undefined) this.mergeableUpdate.delete(f);
      }
    }
    this.sealCurrent();
  }

  private hold(msg: Message): void {
    if (msg.type === MsgType.Report || msg.type === MsgType.TorrentReport) {
      this.counters.droppedReports++;
      this.untoldReports++;
      return;
    }
    if (msg.type === MsgType.UpdateFields) {
      const at = this.mergeableUpdate.get(msg.flowId);
      if (at !== undefined) {
        const older = this.overflow[at] as UpdateFieldsMsg;
        const fields = mergeFields(older.fields, msg.fields);
        if (fields.length <= MAX_FIELDS) {
          this.overflow[at] = { type: MsgType.UpdateFields, flowId: msg.flowId, fields };
          this.counters.coalescedUpdates++;
          return;
        }
      }
    }
    if (this.overflow.length >= this.maxOverflow) {
      this.counters.droppedOther++;
      this.untoldOther++;
      return;
    }
    this.overflow.push(msg);
    const flow = flowOf(msg);
    if (flow !== undefined) {
      // Only an UpdateFields with nothing after it for the same flow may absorb later ones.
      if (msg.type === MsgType.UpdateFields) this.mergeableUpdate.set(flow, this.overflow.length - 1);
      else this.mergeableUpdate.delete(flow);
    }
  }

  private discard(extra: number): void {
    let n = extra + this.overflow.length + this.untoldReports + this.untoldOther;
    for (const d of this.backlog) n += datagramMessageCount(d);
    this.backlog.length = 0;
    this.overflow = [];
    this.mergeableUpdate.clear();
    this.untoldReports = 0;
    this.untoldOther = 0;
    this.blocked = false;
    this.counters.discardedMessages += n;
    this.opts.onDiscard?.(n);
  }
}
