// One peer connection: the wire state machine, its measurements (the Flow bank), upload serving with
// backpressure and rate limits, and our outstanding requests. It is a ControlledFlow: the standard
// policy or the control plane may set its upload rate, choke state and request window.
import { writeEvent } from '../flow/event-bank.js';
import type { Socket } from 'node:net';
import { Bitfield } from '../storage/bitfield.js';
import type { ControlledFlow, FlowControls, FlowInfo } from '../flow/flow-api.js';
import { FLOW, FLOW_BANK_SIZE } from '../program/schema.js';
import { RateMeter } from '../flow/rate-meter.js';
import { TokenBucket } from '../flow/token-bucket.js';
import { monoUs } from '../flow/clock.js';
import {
  BLOCK_SIZE, KEEP_ALIVE, MAX_REQUEST_LENGTH, MsgId, UNKNOWN, WireError, msgName, type WireMessage,
} from '../wire/messages.js';
import {
  CHOKE_BYTES, HAVE_ALL_BYTES, HAVE_NONE_BYTES, INTERESTED_BYTES, KEEP_ALIVE_BYTES, NOT_INTERESTED_BYTES,
  UNCHOKE_BYTES, encodeBitfield, encodeCancel, encodeExtended, encodeHave, encodePieceHeader, encodeReject,
  encodeRequests,
} from '../wire/encode.js';
import { encodeExtensionHandshake, parseExtensionHandshake } from '../wire/extension.js';
import type { WireParser } from '../wire/parser.js';
import type { Handshake } from '../wire/handshake.js';
import { blockKey, type BlockRef } from '../swarm/picker.js';
import type { PinnedBlock } from '../swarm/read-cache.js';
import { RequestWindow, MAX_WINDOW } from './request-window.js';
import type { PeerOwner } from './peer-owner.js';
import type { SocketReads } from './socket-reads.js';

/** Requests from a peer we keep queued (the `reqq` we announce); more are rejected. */
export const MAX_PEER_REQUESTS = 500;
/** Bytes we let sit in the socket buffer plus disk reads in flight before pausing uploads. */
const SEND_HIGH_WATER = 1 << 20;
/** Disk reads in flight per peer. */
const MAX_READS = 16;
const KEEP_ALIVE_MS = 60_000;

/** A connection past its handshake: the socket, where its reads go, and the parser holding what followed. */
export interface PeerConnection {
  readonly socket: Socket;
  readonly reads: SocketReads;
  readonly parser: WireParser;
}

interface Outstanding {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
  readonly sentUs: number;
}

export class Peer implements ControlledFlow {
  readonly info: FlowInfo;
  private readonly socket: Socket;
  private readonly reads: SocketReads;
  private readonly parser: WireParser;
  readonly stats = new Float64Array(FLOW_BANK_SIZE);
  readonly torrentStats: Float64Array;
  /** Identifies the peer for blame (hash failures) and bans: address + peer id. */
  readonly blameKey: string;
  readonly fast: boolean;
  readonly extensions: boolean;
  readonly incoming: boolean;

  amChoking = true;
  amInterested = false;
  peerChoking = true;
  peerInterested = false;
  snubbed = false;
  bits: Bitfield;
  /** Pieces the peer has that we lack. */
  wanted = 0;
  bytesSent = 0;
  bytesRecv = 0;
  peerClient = '';
  closed = false;
  /** "host:port" when we dialed it (so the torrent can retry that address later). */
  dialed: string | undefined;
  /** Set when the standard choker last unchoked it (µs), for optimistic rotation. */
  unchokedAtUs = 0;

  readonly outstanding = new Map<number, Outstanding>();
  private readonly peerRequests: BlockRef[] = [];
  private peerRequestsHead = 0;
  private readsInFlight = 0;
  private readBytesInFlight = 0;
  private peerReqq = MAX_WINDOW;
  private readonly rateIn = new RateMeter();
  private readonly rateOut = new RateMeter();
  private rttUs = 0;
  private lastBlockUs: number;
  private lastRecvMs = Date.now();
  private lastSendMs = Date.now();
  private readonly openedUs = monoUs();
  private readonly window = new RequestWindow();
  private readonly flowBucket = new TokenBucket(0, BLOCK_SIZE);
  /** Paces our requests to this peer when the control plane sets RateIn (0 = no cap). */
  readonly requestBucket = new TokenBucket(0, BLOCK_SIZE);
  private requestWake = false;
  private controls: FlowControls | null = null;
  private serveWake = false;
  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    if (!this.closed) this.socket.uncork();
  };
  private readonly pick: BlockRef[] = [];

  constructor(
    private readonly owner: PeerOwner,
    conn: PeerConnection,
    handshake: Handshake,
    flowId: number,
    incoming: boolean,
  ) {
    this.socket = conn.socket;
    this.reads = conn.reads;
    this.parser = conn.parser;
    const socket = this.socket;
    this.incoming = incoming;
    this.fast = handshake.fast;
    this.extensions = handshake.extensions;
    this.bits = new Bitfield(owner.pieceCount);
    this.torrentStats = owner.torrentStats;
    this.lastBlockUs = this.openedUs;
    const host = socket.remoteAddress ?? '?';
    this.info = {
      flowId, infoHash: owner.infoHash, peerHost: host, peerPort: socket.remotePort ?? 0, peerId: handshake.peerId,
      pieceLength: owner.pieceLength, pieceCount: owner.pieceCount, totalBytes: owner.totalBytes,
    };
    this.blameKey = blameKeyOf(host, handshake.peerId);
  }

  get label(): string {
    return `${this.info.peerHost}:${this.info.peerPort}`;
  }

  get externallyControlled(): boolean {
    return this.controls !== null;
  }

  get isSeed(): boolean {
    return this.bits.complete();
  }

  /** Starts reading and sends our side's opening messages. Call once, after the handshakes. */
  start(): void {
    const s = this.socket;
    s.setNoDelay(true);
    this.reads.setSink(this.onData);
    s.on('drain', this.servePump);
    s.on('error', (err) => this.close(`socket error: ${err.message}`));
    s.on('close', () => this.close('connection closed by peer'));
    s.on('end', () => this.close('connection ended by peer'));
    if (this.extensions) {
      const hs = encodeExtensionHandshake({ client: this.owner.context.clientName, reqq: MAX_PEER_REQUESTS, listenPort: this.owner.context.listenPort });
      this.write(encodeExtended(0, hs));
    }
    const have = this.owner.have;
    if (this.fast && have.complete()) this.write(HAVE_ALL_BYTES);
    else if (this.fast && have.count() === 0) this.write(HAVE_NONE_BYTES);
    else if (have.count() > 0) this.write(encodeBitfield(have.buffer));
    s.resume();
    // Bytes that came with the handshake.
    this.drainParser();
  }

  // ---- knobs (ControlledFlow) ----

  applyControls(c: Readonly<FlowControls>): void {
    if (this.closed) return;
    // Whatever the caller computed, the knobs get sane values (NaN, negative, infinite → automatic).
    const rateBps = Number.isFinite(c.rateBps) && c.rateBps > 0 ? c.rateBps : 0;
    const rateInBps = Number.isFinite(c.rateInBps) && c.rateInBps > 0 ? c.rateInBps : 0;
    const window = Number.isFinite(c.window) && c.window >= 1 ? Math.min(Math.floor(c.window), 100_000) : 0;
    this.controls = { rateBps, choke: c.choke === true, window, rateInBps };
    const now = monoUs();
    this.flowBucket.setRate(this.controls.rateBps, now);
    // SERVE_BATCH_US of credit may build up, so a capped flow sends a few blocks per wakeup.
    this.flowBucket.setBurst(Math.max(BLOCK_SIZE, Math.round((this.controls.rateBps * SERVE_BATCH_US) / 1e6)));
    this.requestBucket.setRate(rateInBps, now);
    // 20 ms of credit may build up, so requests can go out in batches rather than block by block.
    this.requestBucket.setBurst(Math.max(BLOCK_SIZE, Math.round(rateInBps / 50)));
    if (this.controls.choke) this.choke();
    else this.unchoke();
    this.owner.fillRequests(this);
    this.servePump();
  }

  releaseControls(): void {
    if (!this.controls) return;
    this.controls = null;
    this.flowBucket.setRate(0, monoUs());
    this.requestBucket.setRate(0, monoUs());
    // Back to the standard policy: a free upload slot is given at once, the rest waits for the rechoke.
    this.owner.onPeerInterest(this);
    this.owner.fillRequests(this);
    this.servePump();
  }

  // ---- state changes we make ----

  choke(): void {
    if (this.amChoking || this.closed) return;
    this.amChoking = true;
    this.write(CHOKE_BYTES);
    // Queued requests die with the choke (BEP 3); the Fast Extension says so explicitly.
    for (let i = this.peerRequestsHead; i < this.peerRequests.length; i++) {
      const r = this.peerRequests[i]!;
      if (this.fast) this.write(encodeReject(r.index, r.begin, r.length));
    }
    this.peerRequests.length = 0;
    this.peerRequestsHead = 0;
    this.stateEvent();
  }

  unchoke(): void {
    if (!this.amChoking || this.closed) return;
    this.amChoking = false;
    this.unchokedAtUs = monoUs();
    this.write(UNCHOKE_BYTES);
    this.stateEvent();
  }

  setInterested(want: boolean): void {
    if (want === this.amInterested || this.closed) return;
    this.amInterested = want;
    this.write(want ? INTERESTED_BYTES : NOT_INTERESTED_BYTES);
    this.stateEvent();
  }

  sendHave(index: number): void {
    if (this.closed) return;
    if (this.bits.get(index)) {
      // It has it already: no need to tell it, but our interest may have ended.
      if (--this.wanted <= 0) {
        this.wanted = 0;
        this.setInterested(false);
      }
      return;
    }
    this.write(encodeHave(index));
  }

  /** Our request window now: the control plane's if it set one, else the automatic size. */
  windowSize(nowUs: number): number {
    if (this.controls && this.controls.window > 0) return this.controls.window;
    return this.window.size(this.rateIn.rate(nowUs), this.snubbed, this.peerReqq);
  }

  /** Tops up our requests again in `delayUs` (the per-flow download cap ran out of credit). */
  scheduleRequestWake(delayUs: number): void {
    if (this.requestWake || this.closed) return;
    this.requestWake = true;
    // A plain timer: requests need no sub-millisecond precision (see Torrent.fillRequests).
    setTimeout(() => {
      this.requestWake = false;
      if (!this.closed) this.owner.fillRequests(this);
    }, Math.max(1, Math.ceil(delayUs / 1000)));
  }

  /** True when the peer would send to us if we asked. */
  get canRequest(): boolean {
    return !this.peerChoking && this.amInterested && !this.closed;
  }

  hasPiece(index: number): boolean {
    return this.bits.get(index);
  }

  isOutstanding(key: number): boolean {
    return this.outstanding.has(key);
  }

  get outstandingCount(): number {
    return this.outstanding.size;
  }

  /** Sends requests for these blocks in one write. */
  sendRequests(blocks: readonly BlockRef[]): void {
    if (blocks.length === 0 || this.closed) return;
    const now = monoUs();
    const buf = encodeRequests(blocks);
    for (const b of blocks) this.outstanding.set(blockKey(b.index, b.begin), { index: b.index, begin: b.begin, length: b.length, sentUs: now });
    this.write(buf);
  }

  /** End-game: another peer delivered this block first. */
  cancelIfOutstanding(key: number): void {
    const o = this.outstanding.get(key);
    if (!o) return;
    this.outstanding.delete(key);
    this.write(encodeCancel(o.index, o.begin, o.length));
  }

  /** Scratch array the torrent fills with blocks to request (reused: no allocation per pump). */
  get pickBuffer(): BlockRef[] {
    this.pick.length = 0;
    return this.pick;
  }

  // ---- incoming bytes ----

  private readonly onData = (chunk: Buffer): void => {
    this.lastRecvMs = Date.now();
    this.parser.push(chunk);
    this.drainParser();
    // The chunk may be the shared read buffer: an unfinished message moves to the parser's own memory.
    this.parser.release();
  };

  private drainParser(): void {
    let wantsPump = false;
    // The blocks of one read arrived together: one time for them all, and their bytes counted once.
    const now = monoUs();
    let blocks = 0;
    let bytes = 0;
    try {
      const parser = this.parser;
      while (!this.closed) {
        // Nearly every message of a download is a piece: taken without a message object or handle()'s switch.
        if (parser.takePiece()) {
          bytes += this.onPiece(parser.pieceIndex, parser.pieceBegin, parser.pieceBlock, now);
          blocks++;
          continue;
        }
        const m = parser.next();
        if (m === null) break;
        if (m.id === 'handshake') throw new WireError('second handshake');
        if (m.id === MsgId.Piece) {
          bytes += this.onPiece(m.index, m.begin, m.block, now); // split across reads
          blocks++;
        } else if (this.handle(m)) {
          wantsPump = true;
        }
      }
    } catch (err) {
      this.close(err instanceof WireError ? `protocol violation: ${err.message}` : `error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      return;
    } finally {
      if (blocks > 0) this.countReceived(blocks, bytes, now);
      // Blocks handled above may lie in the shared read buffer, which the next read overwrites.
      this.owner.flushBlocks();
    }
    if ((wantsPump || blocks > 0) && !this.closed) this.owner.fillRequests(this);
  }

  /** Handles one message other than a piece; returns true when our requests should be topped up. */
  private handle(m: Exclude<WireMessage, { id: MsgId.Piece }>): boolean {
    switch (m.id) {
      case MsgId.Request:
        this.onRequest(m.index, m.begin, m.length);
        return false;
      case KEEP_ALIVE:
        return false;
      case MsgId.Have:
        this.checkIndex(m.index, 'have');
        if (!this.bits.get(m.index)) {
          this.bits.set(m.index);
          this.owner.picker.addHave(m.index, 1);
          if (!this.owner.have.get(m.index)) {
            this.wanted++;
            this.setInterested(true);
          }
          this.owner.onPeerPieces(this);
        }
        return this.amInterested;
      case MsgId.Bitfield:
        // A repeated bitfield replaces the piece set (aria2 sends one after have-none and haves).
        if (!Bitfield.isValid(m.bits, this.owner.pieceCount)) {
          throw new WireError(`bitfield of ${m.bits.length} bytes is invalid for ${this.owner.pieceCount} pieces`);
        }
        this.setPieceSet(new Bitfield(this.owner.pieceCount, m.bits));
        return this.amInterested;
      case MsgId.HaveAll:
      case MsgId.HaveNone:
        if (!this.fast) throw new WireError(`${msgName(m.id)} without the Fast Extension`);
        if (m.id === MsgId.HaveAll) {
          const all = new Bitfield(this.owner.pieceCount);
          all.setAll();
          this.setPieceSet(all);
        } else {
          this.setPieceSet(new Bitfield(this.owner.pieceCount));
        }
        return this.amInterested;
      case MsgId.Choke:
        if (!this.peerChoking) {
          this.peerChoking = true;
          // Without the Fast Extension a choke silently drops our requests.
          if (!this.fast) this.releaseAll(false);
          this.stateEvent();
        }
        return false;
      case MsgId.Unchoke:
        if (this.peerChoking) {
          this.peerChoking = false;
          this.stateEvent();
        }
        return true;
      case MsgId.Interested:
      case MsgId.NotInterested: {
        const want = m.id === MsgId.Interested;
        if (want !== this.peerInterested) {
          this.peerInterested = want;
          this.owner.onPeerInterest(this);
          this.stateEvent();
        }
        return false;
      }
      case MsgId.Cancel:
        this.removePeerRequest(m.index, m.begin, m.length);
        return false;
      case MsgId.Reject: {
        if (!this.fast) throw new WireError('reject without the Fast Extension');
        const key = blockKey(m.index, m.begin);
        if (this.outstanding.delete(key)) {
          this.owner.picker.release(m.index, m.begin);
          // A peer that refuses a block of a piece it was to send alone must not hold that piece up.
          this.owner.onPeerGaveUp(this);
        }
        return true;
      }
      case MsgId.Extended:
        if (m.extId === 0) {
          const ext = parseExtensionHandshake(m.payload);
          if (ext.reqq) this.peerReqq = Math.max(1, Math.min(MAX_WINDOW, ext.reqq));
          if (ext.client) this.peerClient = ext.client;
        }
        return false;
      case MsgId.Suggest:
      case MsgId.AllowedFast:
        this.checkIndex(m.index, msgName(m.id));
        return false; // allowed, and ignored
      case MsgId.Port:
      case UNKNOWN:
        return false;
    }
  }

  private checkIndex(index: number, what: string): void {
    if (index >= this.owner.pieceCount) throw new WireError(`${what} for piece ${index}, the torrent has ${this.owner.pieceCount}`);
  }

  private setPieceSet(bits: Bitfield): void {
    // Whatever it announced before (haves, an earlier bitfield) is replaced.
    this.owner.picker.addAvailability(this.bits.complete() ? 'all' : this.bits, -1);
    this.bits = bits;
    this.owner.picker.addAvailability(bits.complete() ? 'all' : bits, 1);
    const have = this.owner.have;
    let wanted = 0;
    if (!have.complete()) for (let i = 0; i < bits.length; i++) if (bits.get(i) && !have.get(i)) wanted++;
    this.wanted = wanted;
    this.setInterested(wanted > 0);
    this.owner.onPeerPieces(this);
  }

  /** A block of the read at `now` (µs); returns its length, counted with the read's (countReceived). */
  private onPiece(index: number, begin: number, block: Buffer, now: number): number {
    const owner = this.owner;
    const pieceCount = owner.pieceCount;
    if (index >= pieceCount) this.checkIndex(index, 'piece');
    const len = index === pieceCount - 1 ? owner.totalBytes - index * owner.pieceLength : owner.pieceLength;
    if (begin + block.length > len) throw new WireError(`piece block ${begin}+${block.length} runs past piece ${index} (${len} bytes)`);
    const key = blockKey(index, begin);
    const o = this.outstanding.get(key);
    let latency = 0;
    if (o) {
      this.outstanding.delete(key);
      latency = now - o.sentUs;
      this.rttUs = this.rttUs === 0 ? latency : this.rttUs + (latency - this.rttUs) / 8;
    }
    const n = block.length;
    owner.onBlock(this, index, begin, block);
    if (owner.context.sink) this.emit(now, 0, n, latency, 0, 0);
    return n;
  }

  /**
   * Counts the blocks of one read at once (bytes, rates, slow start, snubbing): per block, those calls
   * were a visible share of a fast leecher's CPU, and the blocks of a read arrived at the same time.
   */
  private countReceived(blocks: number, bytes: number, nowUs: number): void {
    this.bytesRecv += bytes;
    this.rateIn.add(bytes, nowUs);
    this.lastBlockUs = nowUs;
    this.snubbed = false;
    this.window.onBlocks(blocks);
    this.owner.onTransfer(0, bytes, nowUs);
  }

  private onRequest(index: number, begin: number, length: number): void {
    this.checkIndex(index, 'request');
    const plen = index === this.owner.pieceCount - 1 ? this.owner.totalBytes - index * this.owner.pieceLength : this.owner.pieceLength;
    if (length === 0 || length > MAX_REQUEST_LENGTH || begin + length > plen) {
      throw new WireError(`request ${index}:${begin}+${length} is out of bounds (piece of ${plen} bytes, at most ${MAX_REQUEST_LENGTH} per block)`);
    }
    const queued = this.peerRequests.length - this.peerRequestsHead;
    if (this.amChoking || !this.owner.have.get(index) || queued >= MAX_PEER_REQUESTS) {
      if (this.fast) this.write(encodeReject(index, begin, length));
      return;
    }
    this.peerRequests.push({ index, begin, length });
    if (this.owner.context.sink) this.emit(monoUs(), 0, 0, 0, 1, 0);
    this.servePump();
  }

  private removePeerRequest(index: number, begin: number, length: number): void {
    const q = this.peerRequests;
    for (let i = this.peerRequestsHead; i < q.length; i++) {
      const r = q[i]!;
      if (r.index === index && r.begin === begin && r.length === length) {
        q.splice(i, 1);
        return;
      }
    }
  }

  // ---- uploading ----

  /** Serves queued requests while the socket, the disk and the rate limits allow. */
  private readonly servePump = (): void => {
    if (this.serveWake || this.closed) return;
    const q = this.peerRequests;
    while (!this.amChoking && this.peerRequestsHead < q.length && this.readsInFlight < MAX_READS) {
      if (this.socket.writableLength + this.readBytesInFlight >= SEND_HIGH_WATER) return; // 'drain' resumes
      const r = q[this.peerRequestsHead]!;
      const now = monoUs();
      const up = this.owner.context.upBucket;
      if (this.flowBucket.delayUs(r.length, now) > 0 || up.delayUs(r.length, now) > 0) {
        // Capped: sleep until the credit covers a batch (SERVE_BATCH_US of the cap, at most what is
        // asked) rather than the next block alone: each wakeup sends one corked batch.
        const queued = (q.length - this.peerRequestsHead) * r.length;
        const wait = Math.max(this.flowBucket.delayUs(serveBatchBytes(this.flowBucket, r.length, queued), now), up.delayUs(serveBatchBytes(up, r.length, queued), now));
        this.serveWake = true;
        this.owner.context.pacer.after(Math.max(wait, 1), () => {
          this.serveWake = false;
          this.servePump();
        });
        return;
      }
      this.flowBucket.consume(r.length, now);
      this.owner.context.upBucket.consume(r.length, now);
      this.peerRequestsHead++;
      const ready = this.owner.peekBlock(r.index, r.begin, r.length);
      if (ready) {
        this.writeBlock(r, ready);
        continue;
      }
      this.readsInFlight++;
      this.readBytesInFlight += r.length;
      this.owner.fetchBlock(r.index, r.begin, r.length, (err, block) => {
        if (block) {
          this.sendBlock(r, block);
          return;
        }
        this.readsInFlight--;
        this.readBytesInFlight -= r.length;
        this.owner.context.log(`read of piece ${r.index} for ${this.label} failed: ${err ? err.message : 'no data'}`);
        this.close('disk read failed');
      });
    }
    if (this.peerRequestsHead >= q.length && this.peerRequestsHead > 0) {
      q.length = 0;
      this.peerRequestsHead = 0;
    }
  };

  private sendBlock(r: BlockRef, pinned: PinnedBlock): void {
    this.readsInFlight--;
    this.readBytesInFlight -= r.length;
    // Closed, or choked while reading (the request is void): the block is dropped.
    if (this.closed || this.amChoking) {
      pinned.release();
      return;
    }
    this.writeBlock(r, pinned);
    this.servePump();
  }

  private writeBlock(r: BlockRef, pinned: PinnedBlock): void {
    const block = pinned.data;
    const s = this.socket;
    // Blocks that are ready in one tick leave in one writev instead of one syscall each.
    if (!this.corked) {
      this.corked = true;
      s.cork();
      process.nextTick(this.uncork);
    }
    s.write(encodePieceHeader(r.index, r.begin, block.length));
    // The piece buffer is reused once the socket is done with the block.
    s.write(block, pinned.release);
    this.lastSendMs = Date.now();
    const now = monoUs();
    this.bytesSent += block.length;
    this.rateOut.add(block.length, now);
    this.owner.onTransfer(block.length, 0, now);
    if (this.owner.context.sink) this.emit(now, block.length, 0, 0, 0, 0);
  }

  // ---- housekeeping ----

  /** Once a second: timeouts, keep-alives, window growth, fresh stats. */
  tick(nowMs: number, nowUs: number): void {
    if (this.closed) return;
    const t = this.owner.context.timeouts;
    if (nowMs - this.lastRecvMs > t.idleMs) {
      this.close(`idle for ${t.idleMs / 1000} s`);
      return;
    }
    if (nowMs - this.lastSendMs > KEEP_ALIVE_MS) this.write(KEEP_ALIVE_BYTES);
    // Served requests are dropped from the queue's front here rather than in servePump: a branch there
    // first taken well into a transfer (after 1024 requests) de-optimized it in every seed.
    if (this.peerRequestsHead > 0) {
      this.peerRequests.splice(0, this.peerRequestsHead);
      this.peerRequestsHead = 0;
    }
    const rateIn = this.rateIn.rate(nowUs);
    this.window.onTick(rateIn);
    if (this.outstanding.size > 0) {
      const oldest = this.outstanding.values().next().value!;
      // A lost request, or a peer that stopped sending while we wait: it is snubbing us.
      const limit = Math.max(t.requestMs * 1000, 4 * this.rttUs);
      if (nowUs - oldest.sentUs > limit || nowUs - this.lastBlockUs > t.snubMs * 1000) {
        if (!this.snubbed) this.owner.context.log(`${this.label} snubbed us (no block for ${Math.round((nowUs - this.lastBlockUs) / 1e6)} s)`);
        this.snubbed = true;
        this.releaseAll(true);
        this.lastBlockUs = nowUs; // give the next single request a full timeout
      }
    }
    this.refreshStats(nowUs);
  }

  /** Payload rates, bytes/s. */
  rates(nowUs: number): { in: number; out: number } {
    return { in: this.rateIn.rate(nowUs), out: this.rateOut.rate(nowUs) };
  }

  rateInBps(nowUs: number): number {
    return this.rateIn.rate(nowUs);
  }

  /** Cancels every request we have in flight with this peer (we no longer need them). */
  cancelAll(): void {
    this.releaseAll(true);
  }

  /** Gives every outstanding request back to the picker (cancelling them at the peer if asked). */
  private releaseAll(sendCancel: boolean): void {
    for (const o of this.outstanding.values()) {
      this.owner.picker.release(o.index, o.begin);
      if (sendCancel && !this.closed) this.write(encodeCancel(o.index, o.begin, o.length));
    }
    this.outstanding.clear();
    this.owner.onPeerGaveUp(this);
  }

  refreshStats(nowUs: number): void {
    const s = this.stats;
    s[FLOW.bytes_sent] = this.bytesSent;
    s[FLOW.bytes_recv] = this.bytesRecv;
    s[FLOW.rate_out] = this.rateOut.rate(nowUs);
    s[FLOW.rate_in] = this.rateIn.rate(nowUs);
    s[FLOW.rtt_us] = this.rttUs;
    s[FLOW.queue_bytes] = this.closed ? 0 : this.socket.writableLength;
    s[FLOW.peer_requests] = this.peerRequests.length - this.peerRequestsHead;
    s[FLOW.outstanding] = this.outstanding.size;
    s[FLOW.peer_choking] = this.peerChoking ? 1 : 0;
    s[FLOW.peer_interested] = this.peerInterested ? 1 : 0;
    s[FLOW.am_choking] = this.amChoking ? 1 : 0;
    s[FLOW.am_interested] = this.amInterested ? 1 : 0;
    s[FLOW.snubbed] = this.snubbed ? 1 : 0;
    s[FLOW.peer_pieces] = this.bits.count();
    s[FLOW.age_us] = nowUs - this.openedUs;
  }

  private stateEvent(): void {
    if (this.owner.context.sink) this.emit(monoUs(), 0, 0, 0, 0, 1);
  }

  private emit(nowUs: number, sent: number, recv: number, latencyUs: number, requested: number, stateChange: number): void {
    const ctx = this.owner.context;
    const sink = ctx.sink;
    if (!sink || this.closed) return;
    this.refreshStats(nowUs);
    this.owner.refreshRates(nowUs);
    const e = ctx.eventBank;
    writeEvent(e, sent, recv, latencyUs, requested, stateChange, nowUs);
    try {
      sink.flowEvent(this, e);
    } catch (err) {
      ctx.log(`flow sink failed on ${this.label}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private write(buf: Buffer): void {
    if (this.closed) return;
    this.lastSendMs = Date.now();
    this.socket.write(buf);
  }

  /** Drops the connection (idempotent); the reason is logged by the owner. */
  close(reason: string): void {
    if (this.closed) return;
    this.releaseAll(false);
    this.closed = true;
    this.socket.destroy();
    this.owner.picker.addAvailability(this.bits.complete() ? 'all' : this.bits, -1);
    this.peerRequests.length = 0;
    this.owner.onPeerClosed(this, reason);
  }
}

/** A peer for blame (hash failures) and bans: `host|peer id hex`. */
export function blameKeyOf(host: string, peerId: Buffer): string {
  return `${host}|${peerId.toString('hex')}`;
}

/** The host part of a blame key. */
export function hostOfBlameKey(blameKey: string): string {
  const bar = blameKey.lastIndexOf('|');
  return bar < 0 ? blameKey : blameKey.slice(0, bar);
}

/** How much upload credit a capped flow waits for before it sends again, µs of the cap. */
const SERVE_BATCH_US = 10_000;

/** Bytes to wait for under `bucket`: SERVE_BATCH_US of its rate, at least one block, at most what is queued. */
function serveBatchBytes(bucket: TokenBucket, blockBytes: number, queuedBytes: number): number {
  if (bucket.rateBps === 0) return blockBytes;
  return Math.max(blockBytes, Math.min(queuedBytes, (bucket.rateBps * SERVE_BATCH_US) / 1e6));
}
