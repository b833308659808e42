// One proxied connection as a flow: the local client on one side, the remote peer on the other.
// "Up" is client → peer (what the client uploads), "down" is peer → client. The flow reads both
// directions as they pass, keeps the Flow bank current, raises the same events as the engine, and
// enforces the knobs a proxy can honour without breaking the stream:
//   Rate   — pacing of piece payload forwarded up (token bucket, payload-accurate);
//   RateIn — the same pacing of piece payload forwarded down (the static --down-per-peer otherwise);
//   Choke  — the peer's requests are held back (not forwarded to the client) until unchoked; a
//            cancel for a held request removes both. The peer is not sent a choke message.
//   Window — the client's requests beyond `window` in flight are held back and released as blocks
//            (or rejects) come in; a cancel for a held request removes both.
// Held requests are re-encoded byte-identically (a request is a fixed 17-byte message) and written at
// a message boundary, so the stream is never corrupted. Opaque streams (MSE, non-BitTorrent) are only
// paced as raw bytes.
import { writeEvent } from '../datapath/flow/event-bank.js';
import type { Socket } from 'node:net';
import type { ControlledFlow, FlowControls, FlowEventSink, FlowInfo } from '../datapath/flow/flow-api.js';
import { FLOW, FLOW_BANK_SIZE } from '../datapath/program/schema.js';
import { RateMeter } from '../datapath/flow/rate-meter.js';
import { TokenBucket, nowUs, type Pacer } from '../datapath/flow/token-bucket.js';
import { MsgId, encodeRequest, BLOCK_SIZE } from '../datapath/wire/index.js';
import { PieceSet } from './piece-set.js';
import { RelayDirection, type Route } from './relay-direction.js';
import type { TapUnit } from './wire-tap.js';

export interface ShapeContext {
  readonly pacer: Pacer;
  readonly upCap: TokenBucket;
  readonly downCap: TokenBucket;
  readonly eventBank: Float64Array;
  /** Per-flow upload rate applied while no agent steers the flow (0 = none). */
  readonly defaultUpBps: number;
  /** Per-flow download rate applied while no agent steers the flow (0 = none); agents set RateIn. */
  readonly defaultDownBps: number;
  sink(): FlowEventSink | null;
  /** The Torrent bank for an info-hash (zeros for opaque flows); called when the flow opens. */
  torrentBank(flow: ShapedFlow): Float64Array;
  onOpened(flow: ShapedFlow): void;
  onClosed(flow: ShapedFlow, reason: string): void;
  log(line: string): void;
}

interface HeldRequest {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}

/**
 * The proxy's buckets make up for scheduler stalls of up to 250 ms (the engine's default is 50 ms): a
 * busy machine descheduling the proxy must not cost rate, and catching up never runs ahead of
 * rate·t + one block. The price is a catch-up burst after such a stall.
 */
export const SHAPE_BUCKET_OPTIONS = { maxLateUs: 250_000 } as const;

/** Bound on held requests per side; beyond it requests pass (memory stays bounded). */
const MAX_HELD = 4096;
const SNUB_US = 60_000_000;

const key = (index: number, begin: number): number => index * 0x100000000 + begin;

interface MutableInfo {
  flowId: number;
  infoHash: Buffer;
  peerHost: string;
  peerPort: number;
  peerId: Buffer;
  pieceLength: number;
  pieceCount: number;
  totalBytes: number;
}

export type FlowKind = 'pending' | 'bittorrent' | 'opaque';

export class ShapedFlow implements ControlledFlow {
  private readonly mutableInfo: MutableInfo;
  readonly stats = new Float64Array(FLOW_BANK_SIZE);
  torrentStats: Float64Array;
  kind: FlowKind = 'pending';
  opaqueReason: string | null = null;
  /** Set when an info-hash is seen; the torrent key. */
  infoHashHex = '';

  readonly up: RelayDirection;
  readonly down: RelayDirection;
  readonly upBucket: TokenBucket;
  readonly downBucket: TokenBucket;
  private controls: FlowControls | null = null;
  private opened = false;
  private closed = false;
  private readonly openedUs = nowUs();
  lastActivityMs = Date.now();

  // Measurements, from the client's point of view.
  private bytesSent = 0;
  private bytesRecv = 0;
  private readonly rateOut = new RateMeter();
  private readonly rateIn = new RateMeter();
  private rttUs = 0;
  private peerChoking = true;
  private peerInterested = false;
  private amChoking = true;
  private amInterested = false;
  private fast = false;
  private lastBlockUs = nowUs();
  readonly peerPieces = new PieceSet();
  readonly clientPieces = new PieceSet();
  /** Largest begin+length seen in a request: a lower bound on the piece length. */
  maxRequestEnd = 0;

  /** The client's requests forwarded to the peer and not yet answered: key → forward time (µs). */
  private readonly outstanding = new Map<number, number>();
  /** The peer's requests forwarded to the client and not yet answered. */
  private readonly peerPending = new Set<number>();
  private readonly heldPeerRequests: HeldRequest[] = [];
  private readonly heldClientRequests: HeldRequest[] = [];

  constructor(
    flowId: number,
    readonly client: Socket,
    readonly remote: Socket,
    peerHost: string,
    peerPort: number,
    readonly via: string,
    private readonly ctx: ShapeContext,
  ) {
    this.mutableInfo = {
      flowId,
      infoHash: Buffer.alloc(20),
      peerHost,
      peerPort,
      peerId: Buffer.alloc(20),
      pieceLength: 0,
      pieceCount: 0,
      totalBytes: 0,
    };
    this.torrentStats = new Float64Array(0);
    this.upBucket = new TokenBucket(ctx.defaultUpBps, BLOCK_SIZE, SHAPE_BUCKET_OPTIONS);
    this.downBucket = new TokenBucket(ctx.defaultDownBps, BLOCK_SIZE, SHAPE_BUCKET_OPTIONS);
    this.up = new RelayDirection(client, remote, ctx.pacer, {
      onArrive: (u, now) => this.upArrive(u, now),
      route: (u) => this.upRoute(u),
      onForward: (u, now) => this.upForward(u, now),
      buckets: () => [this.upBucket, ctx.upCap],
      onOpaque: (r) => this.becomeOpaque(`client stream: ${r}`),
      onFinished: () => this.directionFinished(),
    });
    this.down = new RelayDirection(remote, client, ctx.pacer, {
      onArrive: (u, now) => this.downArrive(u, now),
      route: (u) => this.downRoute(u),
      onForward: (u, now) => this.downForward(u, now),
      buckets: () => [this.downBucket, ctx.downCap],
      onOpaque: (r) => this.becomeOpaque(`peer stream: ${r}`),
      onFinished: () => this.directionFinished(),
    });
    for (const s of [client, remote]) {
      const who = s === client ? 'client' : 'peer';
      s.on('error', (err) => this.close(`${who} socket error: ${err.message}`));
      s.on('close', () => this.socketClosed(s === client ? this.up : this.down, `${who} closed the connection`));
    }
  }

  get info(): FlowInfo {
    return this.mutableInfo;
  }

  get externallyControlled(): boolean {
    return this.controls !== null;
  }

  get isOpen(): boolean {
    return this.opened && !this.closed;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The knobs in force (the agent's, or the static policy's). */
  get effectiveControls(): FlowControls {
    return this.controls ?? { rateBps: this.ctx.defaultUpBps, choke: false, window: 0, rateInBps: this.ctx.defaultDownBps };
  }

  get heldCounts(): { peerRequests: number; clientRequests: number } {
    return { peerRequests: this.heldPeerRequests.length, clientRequests: this.heldClientRequests.length };
  }

  /** Starts relaying; `early` are bytes the client sent before the relay took over. */
  start(early: Buffer = Buffer.alloc(0)): void {
    this.up.feed(early);
    this.client.resume();
    this.remote.resume();
  }

  // ---- ControlledFlow ----

  applyControls(c: Readonly<FlowControls>): void {
    if (this.closed) return;
    const prevChoke = this.effectiveControls.choke;
    const sane = (v: number, whole: boolean): number => (Number.isFinite(v) && v > 0 ? (whole ? Math.floor(v) : v) : 0);
    this.controls = { rateBps: sane(c.rateBps, false), choke: c.choke === true, window: sane(c.window, true), rateInBps: sane(c.rateInBps, false) };
    const now = nowUs();
    this.upBucket.setRate(this.controls.rateBps, now);
    this.downBucket.setRate(this.controls.rateInBps, now);
    this.afterControlChange(prevChoke);
  }

  releaseControls(): void {
    if (!this.controls || this.closed) {
      this.controls = null;
      return;
    }
    const prevChoke = this.controls.choke;
    this.controls = null;
    this.upBucket.setRate(this.ctx.defaultUpBps, nowUs());
    this.downBucket.setRate(this.ctx.defaultDownBps, nowUs());
    this.afterControlChange(prevChoke);
  }

  private afterControlChange(prevChoke: boolean): void {
    const c = this.effectiveControls;
    if (!c.choke) this.releasePeerRequests();
    this.releaseClientRequests();
    this.up.kick();
    this.down.kick();
    if (prevChoke !== c.choke) this.emit(nowUs(), 0, 0, 0, 0, 1);
  }

  // ---- up: client → peer ----

  private upArrive(u: TapUnit, now: number): void {
    this.lastActivityMs = Date.now();
    if (u.kind === 'handshake') {
      this.kind = 'bittorrent';
      if (this.infoHashHex === '') this.setInfoHash(u.handshake.infoHash);
      this.open(now);
    }
  }

  private upRoute(u: TapUnit): Route {
    if (u.kind !== 'message') return 'forward';
    const m = u.msg;
    if (m.id === MsgId.Request) {
      const w = this.effectiveControls.window;
      const overWindow = w > 0 && this.outstanding.size >= w;
      if ((overWindow || this.heldClientRequests.length > 0) && this.heldClientRequests.length < MAX_HELD) {
        this.heldClientRequests.push({ index: m.index, begin: m.begin, length: m.length });
        return 'hold';
      }
    } else if (m.id === MsgId.Cancel) {
      const i = this.heldClientRequests.findIndex((r) => r.index === m.index && r.begin === m.begin && r.length === m.length);
      if (i >= 0) {
        this.heldClientRequests.splice(i, 1);
        return 'drop';
      }
    }
    return 'forward';
  }

  private upForward(u: TapUnit, now: number): void {
    if (u.kind === 'opaque') {
      this.bytesSent += u.bytes;
      this.rateOut.add(u.bytes, now);
      this.emit(now, u.bytes, 0, 0, 0, 0);
      return;
    }
    if (u.kind !== 'message') return;
    const m = u.msg;
    switch (m.id) {
      case MsgId.Piece:
        this.bytesSent += m.block.length;
        this.rateOut.add(m.block.length, now);
        this.peerPending.delete(key(m.index, m.begin));
        this.emit(now, m.block.length, 0, 0, 0, 0);
        break;
      case MsgId.Request:
        this.outstanding.set(key(m.index, m.begin), now);
        this.noteRequestEnd(m.begin + m.length);
        break;
      case MsgId.Cancel:
        this.outstanding.delete(key(m.index, m.begin));
        break;
      case MsgId.Reject:
        this.peerPending.delete(key(m.index, m.begin));
        break;
      case MsgId.Choke:
      case MsgId.Unchoke:
        this.amChoking = m.id === MsgId.Choke;
        if (this.amChoking && !this.fast) this.peerPending.clear();
        this.emit(now, 0, 0, 0, 0, 1);
        break;
      case MsgId.Interested:
      case MsgId.NotInterested:
        this.amInterested = m.id === MsgId.Interested;
        this.emit(now, 0, 0, 0, 0, 1);
        break;
      case MsgId.Bitfield:
        this.clientPieces.setBitfield(m.bits);
        this.notePieceCount(m.bits.length * 8);
        break;
      case MsgId.Have:
        this.clientPieces.add(m.index);
        break;
      case MsgId.HaveAll:
        this.clientPieces.setAll();
        break;
      case MsgId.HaveNone:
        this.clientPieces.clear();
        break;
      default:
        break;
    }
  }

  // ---- down: peer → client ----

  private downArrive(u: TapUnit, now: number): void {
    this.lastActivityMs = Date.now();
    if (u.kind === 'handshake') {
      this.kind = 'bittorrent';
      u.handshake.peerId.copy(this.mutableInfo.peerId);
      this.fast = u.handshake.fast;
      if (this.infoHashHex === '') this.setInfoHash(u.handshake.infoHash);
      this.open(now);
      return;
    }
    if (u.kind !== 'message') return;
    const m = u.msg;
    if (m.id === MsgId.Request) {
      this.noteRequestEnd(m.begin + m.length);
      this.emit(now, 0, 0, 0, 1, 0);
    } else if (m.id === MsgId.Piece) {
      const k = key(m.index, m.begin);
      const sentAt = this.outstanding.get(k);
      if (sentAt !== undefined) {
        this.outstanding.delete(k);
        const sample = Math.max(0, now - sentAt);
        this.rttUs = this.rttUs === 0 ? sample : this.rttUs + (sample - this.rttUs) / 8;
        this.lastBlockUs = now;
        this.pendingLatencyUs.set(k, sample);
        this.releaseClientRequests();
      }
    } else if (m.id === MsgId.Reject) {
      if (this.outstanding.delete(key(m.index, m.begin))) this.releaseClientRequests();
    } else if (m.id === MsgId.Choke && !this.fast) {
      // BEP 3: a choke discards our requests in flight.
      this.outstanding.clear();
      this.releaseClientRequests();
    }
  }

  /** Latency samples of blocks that arrived, reported when the block is forwarded (paced). */
  private readonly pendingLatencyUs = new Map<number, number>();

  private downRoute(u: TapUnit): Route {
    if (u.kind !== 'message') return 'forward';
    const m = u.msg;
    if (m.id === MsgId.Request) {
      if (this.effectiveControls.choke && this.heldPeerRequests.length < MAX_HELD) {
        this.heldPeerRequests.push({ index: m.index, begin: m.begin, length: m.length });
        return 'hold';
      }
    } else if (m.id === MsgId.Cancel) {
      const i = this.heldPeerRequests.findIndex((r) => r.index === m.index && r.begin === m.begin && r.length === m.length);
      if (i >= 0) {
        this.heldPeerRequests.splice(i, 1);
        return 'drop';
      }
    }
    return 'forward';
  }

  private downForward(u: TapUnit, now: number): void {
    if (u.kind === 'opaque') {
      this.bytesRecv += u.bytes;
      this.rateIn.add(u.bytes, now);
      this.emit(now, 0, u.bytes, 0, 0, 0);
      return;
    }
    if (u.kind !== 'message') return;
    const m = u.msg;
    switch (m.id) {
      case MsgId.Piece: {
        const k = key(m.index, m.begin);
        const latency = this.pendingLatencyUs.get(k) ?? 0;
        this.pendingLatencyUs.delete(k);
        this.bytesRecv += m.block.length;
        this.rateIn.add(m.block.length, now);
        this.emit(now, 0, m.block.length, latency, 0, 0);
        break;
      }
      case MsgId.Request:
        this.peerPending.add(key(m.index, m.begin));
        break;
      case MsgId.Cancel:
        this.peerPending.delete(key(m.index, m.begin));
        break;
      case MsgId.Choke:
      case MsgId.Unchoke:
        this.peerChoking = m.id === MsgId.Choke;
        this.emit(now, 0, 0, 0, 0, 1);
        break;
      case MsgId.Interested:
      case MsgId.NotInterested:
        this.peerInterested = m.id === MsgId.Interested;
        this.emit(now, 0, 0, 0, 0, 1);
        break;
      case MsgId.Bitfield:
        this.peerPieces.setBitfield(m.bits);
        this.notePieceCount(m.bits.length * 8);
        break;
      case MsgId.Have:
        this.peerPieces.add(m.index);
        break;
      case MsgId.HaveAll:
        this.peerPieces.setAll();
        break;
      case MsgId.HaveNone:
        this.peerPieces.clear();
        break;
      default:
        break;
    }
  }

  // ---- holds ----

  private releasePeerRequests(): void {
    while (this.heldPeerRequests.length > 0 && !this.effectiveControls.choke) {
      const r = this.heldPeerRequests.shift()!;
      this.down.inject(encodeRequest(r.index, r.begin, r.length));
      this.peerPending.add(key(r.index, r.begin));
    }
  }

  private releaseClientRequests(): void {
    const now = nowUs();
    for (;;) {
      const w = this.effectiveControls.window;
      if (this.heldClientRequests.length === 0 || (w > 0 && this.outstanding.size >= w)) return;
      const r = this.heldClientRequests.shift()!;
      this.up.inject(encodeRequest(r.index, r.begin, r.length));
      this.outstanding.set(key(r.index, r.begin), now);
    }
  }

  // ---- lifecycle and reporting ----

  private setInfoHash(h: Buffer): void {
    h.copy(this.mutableInfo.infoHash);
    this.infoHashHex = h.toString('hex');
  }

  private notePieceCount(bits: number): void {
    if (bits > this.mutableInfo.pieceCount) this.mutableInfo.pieceCount = bits;
  }

  private noteRequestEnd(end: number): void {
    if (end > this.maxRequestEnd) this.maxRequestEnd = end;
  }

  private becomeOpaque(reason: string): void {
    if (this.kind === 'pending') this.kind = 'opaque';
    if (this.opaqueReason === null) {
      this.opaqueReason = reason;
      // Nothing can be held once message boundaries are unknown: let everything held go.
      this.heldPeerRequests.length = 0;
      this.heldClientRequests.length = 0;
    }
    this.open(nowUs());
  }

  private open(now: number): void {
    if (this.opened || this.closed) return;
    this.opened = true;
    this.torrentStats = this.ctx.torrentBank(this);
    this.refreshStats(now);
    this.ctx.onOpened(this);
    const sink = this.ctx.sink();
    if (sink) {
      try {
        sink.flowOpened(this);
      } catch (err) {
        this.ctx.log(`flow sink failed on open of flow ${this.info.flowId}: ${errText(err)}`);
      }
    }
  }

  private closeAfterFlush: string | null = null;

  /**
   * A socket closed cleanly. What it sent may still be queued here (paced): pass it on first, then
   * close. The direction reading from it ends its destination once drained.
   */
  private socketClosed(from: RelayDirection, reason: string): void {
    if (this.closed) return;
    const other = from === this.up ? this.remote : this.client;
    if (from.finished || other.destroyed || this.closeAfterFlush !== null) this.close(this.closeAfterFlush ?? reason);
    else this.closeAfterFlush = reason;
  }

  private directionFinished(): void {
    if (this.closeAfterFlush !== null) this.close(this.closeAfterFlush);
  }

  /** Closes both sockets (idempotent). */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.up.close();
    this.down.close();
    this.client.destroy();
    this.remote.destroy();
    if (this.opened) {
      const sink = this.ctx.sink();
      if (sink) {
        try {
          sink.flowClosed(this, reason);
        } catch (err) {
          this.ctx.log(`flow sink failed on close of flow ${this.info.flowId}: ${errText(err)}`);
        }
      }
    }
    this.ctx.onClosed(this, reason);
  }

  refreshStats(now: number): void {
    const s = this.stats;
    s[FLOW.bytes_sent] = this.bytesSent;
    s[FLOW.bytes_recv] = this.bytesRecv;
    s[FLOW.rate_out] = this.rateOut.rate(now);
    s[FLOW.rate_in] = this.rateIn.rate(now);
    s[FLOW.rtt_us] = this.rttUs;
    s[FLOW.queue_bytes] = this.closed ? 0 : this.up.queuedBytes + this.remote.writableLength;
    s[FLOW.peer_requests] = this.peerPending.size + this.heldPeerRequests.length;
    s[FLOW.outstanding] = this.outstanding.size;
    s[FLOW.peer_choking] = this.peerChoking ? 1 : 0;
    s[FLOW.peer_interested] = this.peerInterested ? 1 : 0;
    s[FLOW.am_choking] = this.amChoking || this.effectiveControls.choke ? 1 : 0;
    s[FLOW.am_interested] = this.amInterested ? 1 : 0;
    s[FLOW.snubbed] = this.outstanding.size > 0 && now - this.lastBlockUs > SNUB_US ? 1 : 0;
    s[FLOW.peer_pieces] = this.peerPieces.count;
    s[FLOW.age_us] = now - this.openedUs;
  }

  private emit(now: number, sent: number, recv: number, latencyUs: number, requested: number, stateChange: number): void {
    if (!this.opened || this.closed) return;
    const sink = this.ctx.sink();
    if (!sink) return;
    this.refreshStats(now);
    const e = this.ctx.eventBank;
    writeEvent(e, sent, recv, latencyUs, requested, stateChange, now);
    try {
      sink.flowEvent(this, e);
    } catch (err) {
      this.ctx.log(`flow sink failed on flow ${this.info.flowId}: ${errText(err)}`);
    }
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
