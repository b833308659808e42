// One end of a datapath ↔ agent conversation, whatever carries the datagrams: an Outbox for sending,
// decoding and delivery for receiving. Undecodable input is reported locally (onError) and answered
// with an Error message to the peer, rate-limited; an Error is never answered with an Error, so two
// ends cannot ping-pong.
import { MSG_TYPE_NAMES, decodeDatagram, type DecodedDatagram } from './codec.js';
import { ErrorCode, MsgType, PROTOCOL_VERSION, type ErrorMsg, type Message } from './messages.js';
import { Outbox, type DatagramSink, type OutboxOptions, type OutboxStats } from './outbox.js';
import { ProtocolError } from './protocol-error.js';
import type { Channel } from './transport.js';

export interface LinkStats extends OutboxStats {
  readonly receivedDatagrams: number;
  readonly receivedMessages: number;
  readonly receiveErrors: number;
}

/** Allows `perSecond` events per second, in bursts of as many. */
export class RateLimiter {
  private tokens: number;
  private lastMs = Date.now();
  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }
  allow(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.lastMs) * this.perSecond) / 1000);
    this.lastMs = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

const ERROR_REPLIES_PER_SECOND = 20;
const MAX_EARLY_MESSAGES = 10_000;

/** The Error message that answers a datagram we could not use. */
export function errorReplyFor(err: ProtocolError, self: string): ErrorMsg {
  const message =
    err.code === ErrorCode.VersionMismatch
      ? `protocol version mismatch: you sent version ${err.peerVersion ?? '?'}, ${self} speaks version ${PROTOCOL_VERSION}`
      : `${self} could not decode your datagram: ${err.message}`;
  return { type: MsgType.Error, code: err.code, flowId: 0, programId: 0, message };
}

export interface LinkOptions extends Omit<OutboxOptions, 'onDiscard'> {
  /** The other side, for logs: a socket path or an in-process name. */
  readonly description: string;
  /** How this side names itself in error replies. */
  readonly selfName: string;
  readonly sink: DatagramSink;
  /** The sink said the peer is not there (after onError was told). */
  readonly onPeerGone?: () => void;
}

export class Link implements Channel {
  readonly description: string;
  private readonly outbox: Outbox;
  private readonly messageHandlers: ((msg: Message) => void)[] = [];
  private readonly errorHandlers: ((err: Error) => void)[] = [];
  private early: Message[] = [];
  private expectedSequence: number | null = null;
  private readonly replies = new RateLimiter(ERROR_REPLIES_PER_SECOND);
  private closed = false;
  /** sentDatagrams when the peer was last reported missing (one report per outage). */
  private missingSince = -1;
  private received = { receivedDatagrams: 0, receivedMessages: 0, receiveErrors: 0 };

  constructor(private readonly opts: LinkOptions) {
    this.description = opts.description;
    this.outbox = new Outbox(opts.sink, {
      ...opts,
      onDiscard: (n) => this.peerGone(n),
    });
  }

  send(msg: Message): void {
    this.outbox.send(msg);
  }

  onMessage(handler: (msg: Message) => void): void {
    this.messageHandlers.push(handler);
    if (this.early.length > 0) {
      const early = this.early;
      this.early = [];
      queueMicrotask(() => {
        for (const m of early) this.deliver(m);
      });
    }
  }

  onError(handler: (err: Error) => void): void {
    this.errorHandlers.push(handler);
  }

  /** Sends the datagram being built now (normally it goes at the end of the tick). */
  flush(): void {
    this.outbox.flush();
  }

  stats(): LinkStats {
    return { ...this.outbox.stats(), ...this.received };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** A datagram arrived from the peer. Never throws. */
  receive(datagram: Buffer): void {
    if (this.closed) return;
    let decoded: DecodedDatagram;
    try {
      decoded = decodeDatagram(datagram);
    } catch (err) {
      this.rejectDatagram(err);
      return;
    }
    this.receiveDecoded(decoded);
  }

  /** A datagram the transport decoded already (to decide whether it opens a channel). */
  receiveDecoded(decoded: DecodedDatagram): void {
    if (this.closed) return;
    this.received.receivedDatagrams++;
    const seq = decoded.sequence;
    if (this.expectedSequence !== null && seq !== this.expectedSequence && seq !== 0) {
      const missing = (seq - this.expectedSequence) >>> 0;
      this.emitError(new ProtocolError(`${missing} datagrams from ${this.description} went missing (sequence ${this.expectedSequence} → ${seq})`));
    }
    this.expectedSequence = (seq + 1) >>> 0;
    if (decoded.errors.length > 0) {
      this.received.receiveErrors += decoded.errors.length;
      const fromErrorsOnly = decoded.messages.every((m) => m.type === MsgType.Error) && decoded.messages.length > 0;
      for (const err of decoded.errors) {
        this.emitError(err);
        if (!fromErrorsOnly) this.reply(err);
      }
    }
    for (const msg of decoded.messages) {
      this.received.receivedMessages++;
      this.deliver(msg);
    }
  }

  /** Stops the link: sends what the socket takes now, drops the rest. Returns messages not sent. */
  close(): number {
    if (this.closed) return 0;
    this.closed = true;
    return this.outbox.close();
  }

  private rejectDatagram(err: unknown): void {
    const perr = err instanceof ProtocolError ? err : new ProtocolError(String(err));
    this.received.receiveErrors++;
    this.emitError(perr);
    this.reply(perr);
  }

  private reply(err: ProtocolError): void {
    if (this.closed || !this.replies.allow()) return;
    this.outbox.send(errorReplyFor(err, this.opts.selfName));
  }

  /** Hands a message to this side's handlers as if the peer had sent it (a transport's own notices). */
  deliverLocal(msg: Message): void {
    if (!this.closed) this.deliver(msg);
  }

  private deliver(msg: Message): void {
    if (this.messageHandlers.length === 0) {
      if (this.early.length < MAX_EARLY_MESSAGES) this.early.push(msg);
      return;
    }
    for (const h of this.messageHandlers) {
      try {
        h(msg);
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        this.emitError(new Error(`a message handler threw on ${MSG_TYPE_NAMES[msg.type] ?? msg.type}: ${text}`));
      }
    }
  }

  private peerGone(discarded: number): void {
    this.opts.onPeerGone?.();
    const sent = this.outbox.stats().sentDatagrams;
    if (this.missingSince === sent) return;
    this.missingSince = sent;
    this.emitError(new Error(`${this.description} is not there: ${discarded} messages discarded`));
  }

  emitError(err: Error): void {
    for (const h of this.errorHandlers) {
      try {
        h(err);
      } catch {
        // An error handler that throws has nobody left to tell.
      }
    }
  }
}
