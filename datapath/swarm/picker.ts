// Which blocks to request next: rarest-first piece selection with random first pieces, blocks of
// pieces already started first (to finish them), end-game duplicates once every missing block is
// requested. It tracks which blocks of the partial pieces are in and who sent each; their bytes go to
// storage as they arrive (storage/incoming-pieces.ts). A piece that failed its hash with blocks from
// several peers is fetched again from one peer alone, so a liar cannot hide behind honest peers.
import { BLOCK_SIZE } from '../wire/messages.js';
import { monoUs } from '../flow/clock.js';
import type { Bitfield } from '../storage/bitfield.js';

/** Blocks per piece are < 4096 (pieces ≤ 64 MiB), so a block is keyed by index * 4096 + block number. */
export const BLOCKS_PER_KEY = 4096;
export const blockKey = (index: number, begin: number): number => index * BLOCKS_PER_KEY + Math.floor(begin / BLOCK_SIZE);

const FREE = 0;
const REQUESTED = 1;
const RECEIVED = 2;

/** How many peers may be asked for the same block in end-game. */
const ENDGAME_DUPLICATES = 2;
/** In end-game a peer holds at most this many requests (duplicates cost bandwidth; keep them few). */
const ENDGAME_MAX_OUTSTANDING = 4;
/** Random pieces first until we hold this many, so we soon have something to trade. */
const RANDOM_FIRST_PIECES = 4;
/**
 * A peer that gave up a piece it was to send alone (rejected a block of it, stalled, left) may not take
 * it alone again for this long: a liar that refuses the blocks it cannot spoil would otherwise grab the
 * retry every time and force a mixed attempt again.
 */
const GAVE_UP_BAR_US = 30_000_000;

/** A piece being downloaded: the state of each of its blocks and who sent them. */
export class PartialPiece {
  /** Per block: FREE / REQUESTED / RECEIVED. */
  readonly state: Uint8Array;
  /** Per block: how many peers currently have it requested. */
  readonly askers: Uint8Array;
  received = 0;
  /** Blocks in state FREE (so a pick skips pieces with nothing left to ask for). */
  free: number;
  /** Per block: the key of the peer that sent it ('' while missing). */
  readonly senders: string[];
  /** The peer this exclusive piece is being downloaded from (null until one takes it, or after it left). */
  owner: string | null = null;
  writing = false;

  constructor(
    readonly index: number,
    readonly length: number,
    readonly blocks: number,
    /**
     * A retry after a hash failure with several senders: the whole piece comes from one peer (`owner`),
     * so a second failure names the liar and a pass lets the first attempt's blocks be judged.
     */
    readonly exclusive: boolean,
  ) {
    this.free = blocks;
    this.state = new Uint8Array(blocks);
    this.askers = new Uint8Array(blocks);
    this.senders = new Array<string>(blocks).fill('');
  }

  /** Keys of the peers that sent blocks of this piece (derived from `senders`; read when a hash fails). */
  get contributors(): ReadonlySet<string> {
    return new Set(this.senders.filter((s) => s !== ''));
  }
}

export interface BlockRef {
  index: number;
  begin: number;
  length: number;
}

/** What the picker needs to know about the peer it picks for. */
export interface PickPeer {
  /** Who the peer is, as blocks it sends are attributed (see PartialPiece.senders). */
  readonly blameKey: string;
  hasPiece(index: number): boolean;
  isOutstanding(key: number): boolean;
  /** Our requests in flight to this peer. */
  readonly outstandingCount: number;
}

export class Picker {
  readonly availability: Uint32Array;
  readonly partial = new Map<number, PartialPiece>();
  private endgame = false;
  /**
   * Pieces that failed with several senders (their next attempts are exclusive until one passes), with
   * the peers that gave such an attempt up and until when (µs) they are barred from it.
   */
  private readonly retryAlone = new Map<number, Map<string, number>>();
  /** Reused by pick(): started pieces with free blocks. */
  private readonly started: PartialPiece[] = [];

  constructor(
    private readonly have: Bitfield,
    private readonly pieceLength: number,
    private readonly lastPieceLength: number,
    private readonly clockUs: () => number = monoUs,
  ) {
    this.availability = new Uint32Array(have.length);
  }

  get pieceCount(): number {
    return this.have.length;
  }

  get inEndgame(): boolean {
    return this.endgame;
  }

  lengthOf(index: number): number {
    return index === this.have.length - 1 ? this.lastPieceLength : this.pieceLength;
  }

  addAvailability(bits: Bitfield | 'all', sign: 1 | -1): void {
    const a = this.availability;
    if (bits === 'all') {
      for (let i = 0; i < a.length; i++) a[i] = a[i]! + sign;
      return;
    }
    for (let i = 0; i < a.length; i++) if (bits.get(i)) a[i] = a[i]! + sign;
  }

  addHave(index: number, sign: 1 | -1): void {
    this.availability[index] = this.availability[index]! + sign;
  }

  /** Appends up to `max` block requests for `peer` to `out`. */
  pick(peer: PickPeer, max: number, out: BlockRef[]): void {
    if (max <= 0 || this.have.complete()) return;
    // 1. Blocks of pieces already started, most complete first.
    if (this.partial.size > 0) {
      const started = this.started;
      for (const p of this.partial.values()) if (p.free > 0 && !p.writing && peer.hasPiece(p.index) && this.mayTake(p, peer.blameKey)) started.push(p);
      if (started.length > 1) started.sort((a, b) => b.received - a.received);
      for (const p of started) {
        this.takeFree(p, peer.blameKey, max, out);
        if (out.length >= max) break;
      }
      started.length = 0;
      if (out.length >= max) return;
    }
    // 2. New pieces.
    while (out.length < max) {
      const index = this.choosePiece(peer);
      if (index < 0) break;
      this.takeFree(this.start(index), peer.blameKey, max, out);
    }
    if (out.length > 0) return;
    // 3. End-game: nothing fresh is left for this peer, and no piece is unstarted.
    if (!this.allStarted()) return;
    this.endgame = true;
    // Duplicates only for a peer that is nearly idle, and only a few.
    max = Math.min(max, ENDGAME_MAX_OUTSTANDING - peer.outstandingCount);
    if (max <= 0) return;
    for (const p of this.partial.values()) {
      if (p.writing || !peer.hasPiece(p.index) || !this.mayTake(p, peer.blameKey)) continue;
      for (let b = 0; b < p.blocks && out.length < max; b++) {
        if (p.state[b] !== REQUESTED || p.askers[b]! >= ENDGAME_DUPLICATES) continue;
        const key = p.index * BLOCKS_PER_KEY + b;
        if (peer.isOutstanding(key)) continue;
        p.askers[b]!++;
        out.push(this.ref(p, b));
      }
      if (out.length >= max) return;
    }
  }

  /** A request for the block was cancelled, rejected or timed out: another peer may take it. */
  release(index: number, begin: number): void {
    const p = this.partial.get(index);
    if (!p) return;
    const b = Math.floor(begin / BLOCK_SIZE);
    if (b >= p.blocks || p.state[b] === RECEIVED) return;
    if (p.askers[b]! > 0) p.askers[b]!--;
    if (p.askers[b] === 0 && p.state[b] !== FREE) {
      p.state[b] = FREE;
      p.free++;
    }
  }

  /**
   * Marks a received block of `length` bytes as in. Returns the piece when it became whole (verify it),
   * 'dup' when the block was already there or is not wanted (drop it), or null when the piece still
   * misses blocks.
   */
  receive(index: number, begin: number, length: number, contributor: string): PartialPiece | 'dup' | null {
    const p = this.partial.get(index);
    if (!p || p.writing || begin % BLOCK_SIZE !== 0) return 'dup';
    const b = begin / BLOCK_SIZE;
    const expected = Math.min(BLOCK_SIZE, p.length - begin);
    if (b >= p.blocks || length !== expected || p.state[b] === RECEIVED) return 'dup';
    if (p.exclusive) {
      if (!this.mayTake(p, contributor)) return 'dup';
      p.owner = contributor;
    }
    if (p.state[b] === FREE) p.free--; // unrequested, or its request was released: still welcome
    p.state[b] = RECEIVED;
    if (p.askers[b]! > 0) p.askers[b]!--;
    p.received++;
    p.senders[b] = contributor;
    if (p.received < p.blocks) return null;
    p.writing = true;
    return p;
  }

  /** Storage verified and wrote the piece (ok) or the hash failed or a write did (start over). */
  finished(index: number, ok: boolean): void {
    this.partial.delete(index);
    if (ok) this.retryAlone.delete(index);
    else this.endgame = false;
  }

  /** The piece failed its hash with blocks from several peers: download it again from one peer alone. */
  retryFromOnePeer(index: number): void {
    if (!this.retryAlone.has(index)) this.retryAlone.set(index, new Map());
  }

  /**
   * The peer gave up requests it owed us (rejected one, stalled, left): exclusive pieces it was sending
   * go to another peer, and it may not take them alone again for a while.
   */
  disown(blameKey: string): void {
    for (const p of this.partial.values()) {
      if (p.owner !== blameKey) continue;
      p.owner = null;
      this.retryAlone.get(p.index)?.set(blameKey, this.clockUs() + GAVE_UP_BAR_US);
    }
  }

  /**
   * Lifts the bars of exclusive pieces that nobody unowned may take any more: when every connected peer
   * that has such a piece (`holders`, by blame key) gave it up within the bar, waiting the bar out would
   * only stall it. The piece stays exclusive (one peer at a time). Returns the pieces freed.
   */
  liftDeadBars(holders: (index: number) => Iterable<string>): number[] {
    const lifted: number[] = [];
    const now = this.clockUs();
    for (const [index, bars] of this.retryAlone) {
      if (bars.size === 0 || (this.partial.get(index)?.owner ?? null) !== null) continue;
      let anyHolder = false;
      let allBarred = true;
      for (const key of holders(index)) {
        anyHolder = true;
        const until = bars.get(key);
        if (until === undefined || until <= now) {
          allBarred = false;
          break;
        }
      }
      if (anyHolder && allBarred) {
        bars.clear();
        lifted.push(index);
      }
    }
    return lifted;
  }

  /** True while some block of `index` is still missing and the peer could send it. */
  wantsPiece(index: number): boolean {
    return !this.have.get(index);
  }

  private allStarted(): boolean {
    const n = this.have.length;
    const missing = n - this.have.count();
    if (missing > this.partial.size) return false;
    for (let i = 0; i < n; i++) if (!this.have.get(i) && !this.partial.has(i)) return false;
    return true;
  }

  private start(index: number): PartialPiece {
    const length = this.lengthOf(index);
    const blocks = Math.ceil(length / BLOCK_SIZE);
    // A class, not an object literal with a getter: such a literal is built the slow way, ~7 µs a piece.
    const p = new PartialPiece(index, length, blocks, this.retryAlone.has(index));
    this.partial.set(index, p);
    return p;
  }

  /** Whether the peer may be asked for (or send) blocks of the piece: an exclusive piece belongs to one peer. */
  private mayTake(p: PartialPiece, peerKey: string): boolean {
    if (!p.exclusive || p.owner === peerKey) return true;
    if (p.owner !== null) return false;
    const barredUntilUs = this.retryAlone.get(p.index)?.get(peerKey);
    return barredUntilUs === undefined || barredUntilUs <= this.clockUs();
  }

  private takeFree(p: PartialPiece, peerKey: string, max: number, out: BlockRef[]): void {
    if (p.writing || p.free === 0 || !this.mayTake(p, peerKey)) return;
    if (p.exclusive) p.owner = peerKey;
    for (let b = 0; b < p.blocks && out.length < max; b++) {
      if (p.state[b] !== FREE) continue;
      p.state[b] = REQUESTED;
      p.askers[b] = 1;
      p.free--;
      out.push(this.ref(p, b));
    }
  }

  private ref(p: PartialPiece, b: number): BlockRef {
    const begin = b * BLOCK_SIZE;
    return { index: p.index, begin, length: Math.min(BLOCK_SIZE, p.length - begin) };
  }

  /** Rarest piece the peer has that we neither hold nor have started (random among the first few). */
  private choosePiece(peer: PickPeer): number {
    const n = this.have.length;
    const start = Math.floor(Math.random() * n);
    const random = this.have.count() < RANDOM_FIRST_PIECES;
    let best = -1;
    let bestAvail = Number.POSITIVE_INFINITY;
    for (let k = 0; k < n; k++) {
      const i = start + k < n ? start + k : start + k - n;
      if (this.have.get(i) || this.partial.has(i) || !peer.hasPiece(i)) continue;
      if (random) return i;
      const a = this.availability[i]!;
      if (a < bestAvail) {
        best = i;
        bestAvail = a;
        if (a <= 1) break; // nobody rarer than the only holder
      }
    }
    return best;
  }
}

