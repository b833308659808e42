// Which blocks to request next: rarest-first piece selection with random first pieces, blocks of
// pieces already started first (to finish them), end-game duplicates once every missing block is
// requested. It tracks which blocks of the partial pieces are in; their bytes go to storage as they
// arrive (storage/incoming-pieces.ts).
import { BLOCK_SIZE } from '../wire/messages.js';
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

export interface PartialPiece {
  readonly index: number;
  readonly length: number;
  readonly blocks: number;
  /** Per block: FREE / REQUESTED / RECEIVED. */
  readonly state: Uint8Array;
  /** Per block: how many peers currently have it requested. */
  readonly askers: Uint8Array;
  received: number;
  /** Blocks in state FREE (so a pick skips pieces with nothing left to ask for). */
  free: number;
  /** Keys of the peers that sent blocks of this piece (blamed if the hash fails). */
  readonly contributors: Set<string>;
  writing: boolean;
}

export interface BlockRef {
  index: number;
  begin: number;
  length: number;
}

/** What the picker needs to know about the peer it picks for. */
export interface PickPeer {
  hasPiece(index: number): boolean;
  isOutstanding(key: number): boolean;
  /** Our requests in flight to this peer. */
  readonly outstandingCount: number;
}

export class Picker {
  readonly availability: Uint32Array;
  readonly partial = new Map<number, PartialPiece>();
  private endgame = false;
  /** Reused by pick(): started pieces with free blocks. */
  private readonly started: PartialPiece[] = [];

  constructor(
    private readonly have: Bitfield,
    private readonly pieceLength: number,
    private readonly lastPieceLength: number,
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
      for (const p of this.partial.values()) if (p.free > 0 && !p.writing && peer.hasPiece(p.index)) started.push(p);
      if (started.length > 1) started.sort((a, b) => b.received - a.received);
      for (const p of started) {
        this.takeFree(p, max, out);
        if (out.length >= max) break;
      }
      started.length = 0;
      if (out.length >= max) return;
    }
    // 2. New pieces.
    while (out.length < max) {
      const index = this.choosePiece(peer);
      if (index < 0) break;
      this.takeFree(this.start(index), max, out);
    }
    if (out.length > 0) return;
    // 3. End-game: nothing fresh is left for this peer, and no piece is unstarted.
    if (!this.allStarted()) return;
    this.endgame = true;
    // Duplicates only for a peer that is nearly idle, and only a few.
    max = Math.min(max, ENDGAME_MAX_OUTSTANDING - peer.outstandingCount);
    if (max <= 0) return;
    for (const p of this.partial.values()) {
      if (p.writing || !peer.hasPiece(p.index)) continue;
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
    if (p.state[b] === FREE) p.free--; // unrequested, or its request was released: still welcome
    p.state[b] = RECEIVED;
    if (p.askers[b]! > 0) p.askers[b]!--;
    p.received++;
    p.contributors.add(contributor);
    if (p.received < p.blocks) return null;
    p.writing = true;
    return p;
  }

  /** Storage verified and wrote the piece (ok) or the hash failed or a write did (start over). */
  finished(index: number, ok: boolean): void {
    this.partial.delete(index);
    if (!ok) this.endgame = false;
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
    const p: PartialPiece = {
      index, length, blocks, received: 0, free: blocks, writing: false,
      state: new Uint8Array(blocks), askers: new Uint8Array(blocks),
      contributors: new Set(),
    };
    this.partial.set(index, p);
    return p;
  }

  private takeFree(p: PartialPiece, max: number, out: BlockRef[]): void {
    if (p.writing || p.free === 0) return;
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
