// Whole pieces read once and served block by block: one disk read per piece instead of one per
// 16 KiB block, and peers downloading the same pieces share it. Bounded LRU by bytes; pieces larger
// than `maxPieceBytes` are read block by block instead.
//
// Piece buffers are recycled: a fresh 256 KiB+ buffer per piece read lives outside the JS heap, so
// allocating one per read makes V8 run full collections and the kernel zero fresh pages. A served
// block pins its piece until `release()` (the socket wrote it, or the block was dropped); an evicted
// piece's buffer is reused only once nothing pins it. A release that never comes only costs the
// reuse: the buffer is then left to the garbage collector.

export interface BlockReader {
  readBlock(piece: number, begin: number, length: number): Promise<Buffer>;
  /** Reads `out.length` bytes of a verified piece from `begin` into `out`. */
  readInto(piece: number, begin: number, out: Buffer): Promise<void>;
  pieceLength(piece: number): number;
}

/** A block served from memory; call release() once the bytes are written (or dropped). */
export interface PinnedBlock {
  readonly data: Buffer;
  readonly release: () => void;
}

const NO_RELEASE = (): void => {};

class Entry {
  pins = 0;
  evicted = false;
  ready: Buffer | null = null;
  readonly release = (): void => {
    if (--this.pins === 0 && this.evicted) this.cache.recycle(this);
  };
  constructor(
    private readonly cache: PieceReadCache,
    readonly piece: number,
    readonly buf: Buffer,
    readonly loaded: Promise<void>,
  ) {}
}

export class PieceReadCache {
  private readonly pieces = new Map<number, Entry>();
  private readonly spare: Buffer[] = [];
  private bytes = 0;

  constructor(
    private readonly storage: BlockReader,
    private readonly maxBytes = 32 * 1024 * 1024,
    private readonly maxPieceBytes = 4 * 1024 * 1024,
    private readonly maxSpare = 8,
  ) {}

  /** The block at once if its piece is already in memory (no promise, no microtask), else null. */
  peek(piece: number, begin: number, length: number): PinnedBlock | null {
    const e = this.pieces.get(piece);
    if (!e || !e.ready) return null;
    e.pins++;
    return { data: e.ready.subarray(begin, begin + length), release: e.release };
  }

  async read(piece: number, begin: number, length: number): Promise<PinnedBlock> {
    const plen = this.storage.pieceLength(piece);
    if (plen > this.maxPieceBytes) return { data: await this.storage.readBlock(piece, begin, length), release: NO_RELEASE };
    let e = this.pieces.get(piece);
    if (e) {
      // LRU: most recently used last.
      this.pieces.delete(piece);
      this.pieces.set(piece, e);
    } else {
      const spare = this.spare.pop();
      const buf = spare && spare.length === plen ? spare : Buffer.allocUnsafeSlow(plen);
      const loaded = this.storage.readInto(piece, 0, buf);
      const entry = new Entry(this, piece, buf, loaded);
      e = entry;
      this.pieces.set(piece, entry);
      this.bytes += plen;
      loaded.then(
        () => {
          if (!entry.evicted) entry.ready = buf;
        },
        () => this.evict(entry, false),
      );
      while (this.bytes > this.maxBytes && this.pieces.size > 1) this.evict(this.pieces.values().next().value!, true);
    }
    // Pinned before waiting: the buffer cannot be reused while this read is pending.
    e.pins++;
    try {
      await e.loaded;
    } catch (err) {
      e.pins--;
      throw err;
    }
    return { data: e.buf.subarray(begin, begin + length), release: e.release };
  }

  clear(): void {
    for (const e of [...this.pieces.values()]) this.evict(e, true);
  }

  /** An evicted entry nobody pins any more: its buffer may serve another piece. */
  recycle(e: Entry): void {
    if (this.spare.length < this.maxSpare) this.spare.push(e.buf);
  }

  private evict(e: Entry, reusable: boolean): void {
    if (e.evicted) return;
    e.evicted = true;
    e.ready = null;
    if (this.pieces.get(e.piece) === e) this.pieces.delete(e.piece);
    this.bytes -= e.buf.length;
    // A failed read's buffer may be half written by a still-running read: never reuse it.
    if (reusable && e.pins === 0) {
      // A read still in flight fills it later; only a loaded buffer is safe to hand out again.
      e.loaded.then(() => this.recycle(e), () => undefined);
    }
  }
}
