// One torrent in a session: its storage, picker, peers, the standard choker, peer discovery
// (trackers and given addresses) and its swarm totals (the Torrent bank).
import { EventEmitter } from 'node:events';
import type { Metainfo } from '../metainfo/metainfo.js';
import type { Storage } from '../storage/storage.js';
import { IncomingPieces } from '../storage/incoming-pieces.js';
import type { Bitfield } from '../storage/bitfield.js';
import { Announcer, type PeerAddress } from '../tracker/announcer.js';
import { TORRENT, TORRENT_BANK_SIZE } from '../program/schema.js';
import { RateMeter } from '../flow/rate-meter.js';
import type { TokenBucket } from '../flow/token-bucket.js';
import { monoUs } from '../flow/clock.js';
import { BLOCK_SIZE } from '../wire/messages.js';
import type { Handshake } from '../wire/handshake.js';
import { Peer, blameKeyOf, hostOfBlameKey, type PeerConnection } from '../peer/peer.js';
import type { EngineContext, PeerOwner } from '../peer/peer-owner.js';
import { Picker, blockKey, type PartialPiece } from './picker.js';
import { SmartBan } from './smart-ban.js';
import { decideChokes } from './choker.js';
import { PieceReadCache, type BlockDone, type PinnedBlock } from './read-cache.js';

const RECHOKE_US = 10_000_000;
const OPTIMISTIC_US = 30_000_000;
/** Hash failures a peer may cause before it is banned. */
export const BAN_AFTER_FAILURES = 3;

export interface TorrentOptions {
  /** Keep seeding once complete (informational for callers; a torrent always serves what it has). */
  seed?: boolean;
  /** Addresses to dial, besides the trackers' peers. */
  peers?: PeerAddress[];
  /** Announce to the metainfo's trackers (default true). */
  announce?: boolean;
  maxPeers?: number;
  uploadSlots?: number;
}

/** What the torrent asks of its session (dialing, flow ids, bans, the peer id). */
export interface TorrentHost {
  readonly context: EngineContext;
  readonly peerId: Buffer;
  nextFlowId(): number;
  dial(torrent: Torrent, addr: PeerAddress): void;
  isBanned(blameKey: string): boolean;
  /** One more hash failure caused by this peer; returns its count. */
  blame(blameKey: string): number;
  /** The peer is known to have sent bad data: banned at once. */
  ban(blameKey: string): void;
}

interface Candidate {
  addr: PeerAddress;
  /** A peer at this address sent bad data: never dialed again (it may come back with a new peer id). */
  banned: boolean;
  connecting: boolean;
  connected: boolean;
  failures: number;
  nextTryMs: number;
}

export interface TorrentProgress {
  infoHashHex: string;
  name: string;
  haveBytes: number;
  totalBytes: number;
  piecesHave: number;
  pieceCount: number;
  downloadedBytes: number;
  uploadedBytes: number;
  rateInBps: number;
  rateOutBps: number;
  peers: number;
  seeds: number;
  complete: boolean;
}

export class Torrent extends EventEmitter implements PeerOwner {
  readonly infoHash: Buffer;
  readonly infoHashHex: string;
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalBytes: number;
  readonly have: Bitfield;
  readonly picker: Picker;
  /** Blocks of the pieces being downloaded, on their way to disk. */
  private readonly incoming: IncomingPieces;
  readonly torrentStats = new Float64Array(TORRENT_BANK_SIZE);
  readonly peers = new Set<Peer>();
  readonly context: EngineContext;
  uploaded = 0;
  downloaded = 0;
  wasted = 0;
  hashFailures = 0;
  private readonly rateIn = new RateMeter();
  private readonly rateOut = new RateMeter();
  private readonly candidates = new Map<string, Candidate>();
  private readonly cache: PieceReadCache;
  private readonly smartBan = new SmartBan();
  private readonly maxPeers: number;
  private readonly slots: number;
  private optimistic: number | null = null;
  private lastRechokeUs = 0;
  private lastOptimisticUs = 0;
  private announcer: Announcer | null = null;
  private downWake = false;
  private closed = false;
  private completeSignalled: boolean;
  /**
   * Why the torrent stopped downloading: a piece write failed (a full disk, a folder where the file
   * should be, a read-only file system). Null while it downloads. Once set, nothing more is requested
   * (blocks fetched only to be thrown away would waste the peers' upload and ours), pieces already
   * verified are still served, and 'storage-error' was emitted once.
   */
  storageError: string | null = null;

  constructor(
    private readonly host: TorrentHost,
    readonly meta: Metainfo,
    readonly storage: Storage,
    readonly opts: TorrentOptions = {},
  ) {
    super();
    this.context = host.context;
    this.infoHash = meta.infoHash;
    this.infoHashHex = meta.infoHashHex;
    this.pieceCount = meta.pieceCount;
    this.pieceLength = meta.pieceLength;
    this.totalBytes = meta.totalBytes;
    this.have = storage.have;
    this.picker = new Picker(this.have, meta.pieceLength, meta.lastPieceLength);
    this.incoming = new IncomingPieces(storage);
    this.cache = new PieceReadCache(storage);
    this.maxPeers = opts.maxPeers ?? 50;
    this.slots = opts.uploadSlots ?? 4;
    this.completeSignalled = this.have.complete();
    for (const a of opts.peers ?? []) this.addPeer(a);
    this.updateStats(monoUs());
  }

  get complete(): boolean {
    return this.have.complete();
  }

  get name(): string {
    return this.meta.name;
  }

  bytesLeft(): number {
    return this.storage.bytesLeft();
  }

  /** Starts announcing (if the metainfo names trackers and announcing is on) and dialing. */
  start(): void {
    if (this.opts.announce !== false && this.meta.announce.length > 0) {
      const a = new Announcer({
        tiers: this.meta.announce,
        infoHash: this.infoHash,
        peerId: this.host.peerId,
        port: this.context.listenPort,
        stats: () => ({ uploaded: this.uploaded, downloaded: this.downloaded, left: this.bytesLeft() }),
        numwant: this.maxPeers,
        log: (m) => this.context.log(`${this.name}: ${m}`),
      });
      a.on('peers', (peers: PeerAddress[]) => {
        for (const p of peers) this.addPeer(p);
        this.connectMore(Date.now());
      });
      a.on('warning', (msg: string, url: string) => this.emit('warning', `tracker ${url}: ${msg}`));
      this.announcer = a;
      a.start();
    }
    this.connectMore(Date.now());
  }

  /** Adds an address to dial. */
  addPeer(addr: PeerAddress): void {
    if (this.closed || !addr.port) return;
    const key = `${addr.host}:${addr.port}`;
    if (this.candidates.has(key)) return;
    const self = this.context.listenPort === addr.port && (addr.host === '127.0.0.1' || addr.host === 'localhost' || addr.host === '0.0.0.0');
    if (self) return;
    this.candidates.set(key, { addr, banned: false, connecting: false, connected: false, failures: 0, nextTryMs: 0 });
  }

  /** A connection finished its handshake for this torrent: make it a peer, or refuse it. */
  attach(conn: PeerConnection, hs: Handshake, incoming: boolean, dialed?: PeerAddress): Peer | null {
    const socket = conn.socket;
    const refuse = (why: string): null => {
      this.context.log(`${this.name}: refused ${socket.remoteAddress}:${socket.remotePort}: ${why}`);
      socket.destroy();
      if (dialed) this.dialFailed(dialed, why, true);
      return null;
    };
    if (this.closed) return refuse('torrent closed');
    if (hs.peerId.equals(this.host.peerId)) return refuse('connected to ourselves');
    const blame = blameKeyOf(socket.remoteAddress ?? '?', hs.peerId);
    if (this.host.isBanned(blame)) return refuse('banned for sending bad data');
    if (this.peers.size >= this.maxPeers) return refuse('too many peers');
    for (const p of this.peers) if (p.info.peerId.equals(hs.peerId)) return refuse('already connected to this peer id');
    const peer = new Peer(this, conn, hs, this.host.nextFlowId(), incoming);
    if (dialed) this.candidates.get(`${dialed.host}:${dialed.port}`)!.connected = true;
    peer.dialed = dialed ? `${dialed.host}:${dialed.port}` : undefined;
    this.peers.add(peer);
    // The control plane hears of the flow before its first event (bytes may have come with the handshake).
    const sink = this.context.sink;
    if (sink) {
      peer.refreshStats(monoUs());
      try {
        sink.flowOpened(peer);
      } catch (err) {
        this.context.log(`flow sink failed on open: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    peer.start();
    if (!peer.closed) this.updateStats(monoUs());
    return peer.closed ? null : peer;
  }

  /** A dial failed (or was refused after the handshake: `quiet`, already logged); retry later with backoff. */
  dialFailed(addr: PeerAddress, why: string, quiet = false): void {
    const c = this.candidates.get(`${addr.host}:${addr.port}`);
    if (!c) return;
    c.connecting = false;
    c.failures++;
    c.nextTryMs = Date.now() + Math.min(300_000, 5_000 * 2 ** Math.min(c.failures, 6));
    if (!quiet) this.context.log(`${this.name}: could not connect to ${addr.host}:${addr.port}: ${why}`);
  }

  // ---- PeerOwner ----

  fetchBlock(index: number, begin: number, length: number, done: BlockDone): void {
    this.cache.fetch(index, begin, length, done);
  }

  peekBlock(index: number, begin: number, length: number): PinnedBlock | null {
    return this.cache.peek(index, begin, length);
  }

  refreshRates(nowUs: number): void {
    this.torrentStats[TORRENT.rate_out] = this.rateOut.rate(nowUs);
    this.torrentStats[TORRENT.rate_in] = this.rateIn.rate(nowUs);
  }

  onTransfer(sent: number, recv: number, nowUs: number): void {
    if (sent) {
      this.uploaded += sent;
      this.rateOut.add(sent, nowUs);
    }
    if (recv) {
      this.downloaded += recv;
      this.rateIn.add(recv, nowUs);
    }
  }

  fillRequests(peer: Peer): void {
    if (!peer.canRequest || this.have.complete() || this.storageError !== null) return;
    const now = monoUs();
    const window = peer.windowSize(now);
    let want = window - peer.outstanding.size;
    // Top up in batches (fewer, larger writes) unless the pipe is nearly empty.
    if (want <= 0 || (want < window >> 2 && peer.outstanding.size > 2)) return;
    // Under a download cap (global, or the flow's RateIn) requests go out in batches worth
    // REQUEST_BATCH_US of the cap, woken by a plain timer: pacing them block by block spun the loop
    // (a 256 MiB download capped at 95 MB/s cost 3.6× the CPU of an uncapped one). The bucket keeps
    // the credit a late timer earns, so the rate stays exact.
    const down = this.context.downBucket;
    if (down.rateBps > 0) {
      const credit = down.creditBytes(now);
      const need = requestBatchBytes(down, want);
      if (credit < need) {
        this.scheduleDownWake(down.delayUs(need, now));
        return;
      }
      want = Math.min(want, Math.floor(credit / BLOCK_SIZE));
    }
    const flowDown = peer.requestBucket;
    if (flowDown.rateBps > 0) {
      const credit = flowDown.creditBytes(now);
      const need = requestBatchBytes(flowDown, want);
      if (credit < need) {
        peer.scheduleRequestWake(flowDown.delayUs(need, now));
        return;
      }
      want = Math.min(want, Math.max(1, Math.floor(credit / BLOCK_SIZE)));
    }
    const out = peer.pickBuffer;
    this.picker.pick(peer, want, out);
    if (out.length === 0) return;
    if (down.rateBps > 0 || flowDown.rateBps > 0) {
      let bytes = 0;
      for (const b of out) bytes += b.length;
      down.consume(bytes, now);
      flowDown.consume(bytes, now);
    }
    peer.sendRequests(out);
  }

  private scheduleDownWake(delayUs: number): void {
    if (this.downWake) return;
    this.downWake = true;
    setTimeout(() => {
      this.downWake = false;
      if (!this.closed) for (const p of this.peers) this.fillRequests(p);
    }, Math.max(1, Math.ceil(delayUs / 1000)));
  }

  onBlock(peer: Peer, index: number, begin: number, block: Buffer): void {
    const r = this.picker.receive(index, begin, block.length, peer.blameKey);
    if (r === 'dup') {
      this.wasted += block.length;
      return;
    }
    this.incoming.add(index, begin, block);
    if (this.picker.inEndgame) {
      const key = blockKey(index, begin);
      for (const p of this.peers) if (p !== peer) p.cancelIfOutstanding(key);
    }
    if (r === null) return;
    const piece = r;
    // Plain callbacks rather than an async function: this runs for every piece.
    this.incoming.complete(piece.index, piece.length).then(
      (ok) => {
        if (!ok && piece.contributors.size > 1 && !this.closed) void this.keepEvidence(piece);
        else this.pieceChecked(piece, ok);
      },
      (err: unknown) => {
        this.picker.finished(piece.index, false);
        if (this.closed || this.storageError !== null) return;
        this.storageError = `writing piece ${piece.index} failed: ${err instanceof Error ? err.message : String(err)}`;
        this.warn(`${this.storageError}; downloading stopped`);
        this.emit('storage-error', this.storageError);
      },
    );
  }

  /** The piece's hash was checked (and its writes landed): count it, or start it over. */
  private pieceChecked(piece: PartialPiece, ok: boolean): void {
    this.picker.finished(piece.index, ok);
    if (this.closed) return;
    if (ok) this.pieceVerified(piece.index);
    else this.hashFailed(piece.index, piece.contributors);
  }

  /**
   * A piece from several peers failed: fingerprints its blocks with their senders (SmartBan) before the
   * retry overwrites them; the piece stays out of the picker until then.
   */
  private async keepEvidence(piece: PartialPiece): Promise<void> {
    try {
      this.smartBan.recordFailure(piece.index, await this.storage.readUnverified(piece.index), piece.senders);
    } catch (err) {
      this.context.log(`${this.name}: could not read back failed piece ${piece.index}: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.pieceChecked(piece, false);
  }

  private warn(msg: string): void {
    this.context.log(`${this.name}: ${msg}`);
    this.emit('warning', msg);
  }

  flushBlocks(): void {
    this.incoming.flush();
  }

  onPeerInterest(peer: Peer): void {
    if (peer.externallyControlled) return;
    if (peer.peerInterested && peer.amChoking) {
      // A free slot is given at once rather than at the next rechoke.
      let unchoked = 0;
      for (const p of this.peers) if (!p.amChoking && p.peerInterested && !p.externallyControlled) unchoked++;
      if (unchoked < this.slots + 1) peer.unchoke();
    } else if (!peer.peerInterested && !peer.amChoking) {
      this.fillFreeSlots();
    }
  }

  /**
   * Gives upload slots freed between rechokes (a peer left or lost interest) to waiting peers at once:
   * waiting for the next 10 s rechoke left leechers idle once the peers they fed had finished and gone
   * (1 seeder → 8 leechers: the last three finished ~5 s after the rest). Seeding, the peer we sent
   * least to goes first; downloading, the one that gives us most.
   */
  private fillFreeSlots(): void {
    if (this.closed) return;
    let unchoked = 0;
    const waiting: Peer[] = [];
    for (const p of this.peers) {
      if (p.externallyControlled || p.closed || !p.peerInterested) continue;
      if (p.amChoking) waiting.push(p);
      else unchoked++;
    }
    let free = this.slots + 1 - unchoked;
    if (free <= 0 || waiting.length === 0) return;
    const now = monoUs();
    if (this.have.complete()) waiting.sort((a, b) => a.bytesSent - b.bytesSent);
    else waiting.sort((a, b) => b.rateInBps(now) - a.rateInBps(now));
    for (const p of waiting) {
      if (free-- <= 0) break;
      p.unchoke();
    }
  }

  onPeerPieces(peer: Peer): void {
    if (this.have.complete() && peer.isSeed) peer.close('both sides are seeds');
  }

  onPeerGaveUp(peer: Peer): void {
    this.picker.disown(peer.blameKey);
  }

  onPeerClosed(peer: Peer, reason: string): void {
    this.peers.delete(peer);
    this.context.log(`${this.name}: dropped ${peer.label}${peer.peerClient ? ` (${peer.peerClient})` : ''}: ${reason}`);
    const dialed = peer.dialed;
    if (dialed) {
      const c = this.candidates.get(dialed);
      if (c) {
        c.connected = false;
        c.connecting = false;
        c.failures++;
        c.nextTryMs = Date.now() + Math.min(300_000, 5_000 * 2 ** Math.min(c.failures, 6));
      }
    }
    if (this.optimistic === peer.info.flowId) this.optimistic = null;
    const sink = this.context.sink;
    if (sink) {
      try {
        sink.flowClosed(peer, reason);
      } catch (err) {
        this.context.log(`flow sink failed on close: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.emit('peer-closed', peer, reason);
    if (!this.closed && !peer.externallyControlled && !peer.amChoking && peer.peerInterested) this.fillFreeSlots();
    if (!this.closed) this.refillAll();
  }

  // ---- pieces ----

  private pieceVerified(index: number): void {
    if (this.smartBan.has(index)) void this.judgeFailedAttempts(index);
    for (const p of this.peers) p.sendHave(index);
    this.updateStats(monoUs());
    this.emit('piece', index);
    if (this.have.complete() && !this.completeSignalled) {
      this.completeSignalled = true;
      this.cache.clear();
      for (const p of this.peers) {
        p.cancelAll(); // end-game duplicates still in flight
        p.setInterested(false);
        if (p.isSeed) p.close('both sides are seeds');
      }
      this.announcer?.completed();
      this.emit('complete');
      this.rechoke(true);
      return;
    }
    this.refillAll();
  }

  /**
   * A piece failed its hash. Sent by one peer alone, that peer lied (TCP does not flip bits): a strike,
   * banned after BAN_AFTER_FAILURES. Sent by several, nobody is blamed yet: the piece is fetched again
   * from one peer, and its blocks are judged when it passes (SmartBan).
   */
  private hashFailed(index: number, contributors: ReadonlySet<string>): void {
    this.hashFailures++;
    this.warn(`piece ${index} failed its hash check (from ${[...contributors].map((c) => this.describePeer(c)).join(', ')})`);
    if (contributors.size === 1) {
      const key = contributors.values().next().value!;
      if (this.host.blame(key) >= BAN_AFTER_FAILURES) this.banPeer(key, `banned after ${BAN_AFTER_FAILURES} pieces failed their hash check`);
    } else {
      this.picker.retryFromOnePeer(index);
    }
    this.refillAll();
  }

  /** The piece passed after failed attempts: whoever sent a block that differs from the good data lied. */
  private async judgeFailedAttempts(index: number): Promise<void> {
    let data: Buffer;
    try {
      data = await this.storage.readPiece(index);
    } catch (err) {
      this.context.log(`${this.name}: could not read piece ${index} to judge its failed attempts: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (this.closed) return;
    for (const key of this.smartBan.judge(index, data)) {
      this.host.ban(key);
      this.banPeer(key, `banned: sent bad data for piece ${index} (found once the piece passed its hash check)`);
    }
  }

  /** A peer by its blame key, for logs: its address while connected, else its host. */
  private describePeer(key: string): string {
    for (const p of this.peers) if (p.blameKey === key) return p.label;
    return hostOfBlameKey(key);
  }

  /** Drops the peer with this key (the close logs why) and stops dialing its address. */
  private banPeer(key: string, reason: string): void {
    for (const p of this.peers) {
      if (p.blameKey !== key) continue;
      const c = p.dialed ? this.candidates.get(p.dialed) : undefined;
      if (c) c.banned = true;
      p.close(reason);
    }
  }

  private refillAll(): void {
    for (const p of this.peers) this.fillRequests(p);
  }

  // ---- periodic work ----

  /** Once a second (from the session): peers' timers, choking, dialing, stats. */
  tick(nowMs: number, nowUs: number): void {
    if (this.closed) return;
    for (const p of this.peers) p.tick(nowMs, nowUs);
    const rotate = nowUs - this.lastOptimisticUs >= OPTIMISTIC_US;
    if (rotate || nowUs - this.lastRechokeUs >= RECHOKE_US) this.rechoke(rotate);
    this.connectMore(nowMs);
    for (const index of this.picker.liftDeadBars((i) => this.holdersOf(i))) {
      this.context.log(`${this.name}: every peer that has piece ${index} gave it up; any of them may take it again`);
    }
    this.refillAll();
    this.updateStats(nowUs);
    if (this.listenerCount('tick') > 0) this.emit('tick', this.progress(nowUs));
  }

  /** Blame keys of the connected peers that have the piece. */
  private *holdersOf(index: number): Iterable<string> {
    for (const p of this.peers) if (!p.closed && p.hasPiece(index)) yield p.blameKey;
  }

  /** The standard choker over the flows nobody else controls. */
  rechoke(rotateOptimistic: boolean): void {
    const now = monoUs();
    this.lastRechokeUs = now;
    if (rotateOptimistic) this.lastOptimisticUs = now;
    const mine = [...this.peers].filter((p) => !p.externallyControlled && !p.closed);
    const decision = decideChokes(
      mine.map((p) => ({ key: p.info.flowId, interested: p.peerInterested, snubbed: p.snubbed, rateIn: p.rateInBps(now), bytesSent: p.bytesSent })),
      { slots: this.slots, seeding: this.have.complete(), optimistic: rotateOptimistic ? null : this.optimistic },
    );
    this.optimistic = decision.optimistic;
    for (const p of mine) {
      if (decision.unchoke.has(p.info.flowId)) p.unchoke();
      else if (p.peerInterested) p.choke();
    }
  }

  private connectMore(nowMs: number): void {
    if (this.closed) return;
    let busy = this.peers.size;
    for (const c of this.candidates.values()) if (c.connecting) busy++;
    for (const c of this.candidates.values()) {
      if (busy >= this.maxPeers) break;
      if (c.banned || c.connecting || c.connected || c.nextTryMs > nowMs) continue;
      c.connecting = true;
      busy++;
      this.host.dial(this, c.addr);
    }
  }

  /** Called by the session once a dialed connection becomes a peer or fails. */
  dialDone(addr: PeerAddress): void {
    const c = this.candidates.get(`${addr.host}:${addr.port}`);
    if (c) c.connecting = false;
  }

  private updateStats(nowUs: number): void {
    const s = this.torrentStats;
    s[TORRENT.rate_out] = this.rateOut.rate(nowUs);
    s[TORRENT.rate_in] = this.rateIn.rate(nowUs);
    s[TORRENT.peers] = this.peers.size;
    let unchoked = 0;
    for (const p of this.peers) if (!p.amChoking) unchoked++;
    s[TORRENT.unchoked] = unchoked;
    s[TORRENT.left_bytes] = this.bytesLeft();
    s[TORRENT.seeding] = this.have.complete() ? 1 : 0;
  }

  progress(nowUs = monoUs()): TorrentProgress {
    let seeds = 0;
    for (const p of this.peers) if (p.isSeed) seeds++;
    return {
      infoHashHex: this.infoHashHex,
      name: this.name,
      haveBytes: this.storage.bytesHave(),
      totalBytes: this.totalBytes,
      piecesHave: this.have.count(),
      pieceCount: this.pieceCount,
      downloadedBytes: this.downloaded,
      uploadedBytes: this.uploaded,
      rateInBps: this.rateIn.rate(nowUs),
      rateOutBps: this.rateOut.rate(nowUs),
      peers: this.peers.size,
      seeds,
      complete: this.have.complete(),
    };
  }

  /** Drops every peer, tells the trackers we stopped (bounded), closes storage. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of [...this.peers]) p.close('torrent closed');
    const stops: Promise<unknown>[] = [];
    if (this.announcer) stops.push(this.announcer.stop().catch(() => undefined));
    await Promise.all(stops);
    this.cache.clear();
    await this.storage.close();
  }
}

/**
 * How long a batch of requests under a download cap covers, µs. Each batch costs a timer wake and a few
 * socket reads as its blocks trickle in: 25 ms batches cut a 256 MiB download capped at 105 MB/s from
 * 0.51 to 0.47 s of CPU against 10 ms (5 alternating runs; 50 ms: 0.45 s, but that is the global
 * bucket's whole burst, so a late timer would lose credit). The buckets' bursts still bound a batch.
 */
export const REQUEST_BATCH_US = 25_000;

/**
 * Credit (bytes) to wait for before requesting under a capped bucket: REQUEST_BATCH_US of its rate in
 * whole blocks, at least one block, at most what we want and what the bucket can hold.
 */
function requestBatchBytes(bucket: TokenBucket, wantBlocks: number): number {
  const blocks = Math.max(1, Math.min(wantBlocks, Math.floor((bucket.rateBps * REQUEST_BATCH_US) / 1e6 / BLOCK_SIZE)));
  return Math.min(blocks * BLOCK_SIZE, Math.max(BLOCK_SIZE, bucket.burstBytes));
}
