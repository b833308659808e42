// Whole pieces read once and served block by block: one disk read per piece instead of one per
// 16 KiB block, and peers downloading the same pieces share it. Bounded LRU by bytes; pieces larger
// than `maxPieceBytes` are read block by block instead.
//
// Piece buffers are recycled: a fresh 256 KiB+ buffer per piece read lives outside the JS heap, so
// allocating one per read makes V8 run full collections and the kernel zero fresh pages. A served
// block pins its piece until `release()` (the socket wrote it, or the block was dropped); an evicted
// piece's buffer is reused only once nothing pins it. A release that never comes only costs the
// reuse: the buffer is then left to the garbage collector.
//
// Blocks of a piece still being read wait as plain callbacks on its entry: most blocks a seeder serves
// arrive while their piece loads, and a promise and an async frame per block cost more than the
// serving itself (and V8 compiling them, in a short transfer).

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

/** Gets the block, or the error that kept it from being read. */
export type BlockDone = (err: Error | null, block: PinnedBlock | null) => void;

const NO_RELEASE = (): void => {};

interface Waiter {
  readonly begin: number;
  readonly length: number;
  readonly done: BlockDone;
}

class Entry {
  pins = 0;
  evicted = false;
  /** The buffer once the read landed (and while not evicted). */
  ready: Buffer | null = null;
  /** Settled: loaded or failed. */
  settled = false;
  /** Blocks asked for while the piece loads. */
  waiters: Waiter[] = [];
  readonly release = (): void => {
    if (--this.pins === 0 && this.evicted && this.settled) this.cache.recycle(this);
  };
  constructor(
    private readonly cache: PieceReadCache,
    readonly piece: number,
    readonly buf: Buffer,
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

  /** The block, through `done` (never synchronously). */
  fetch(piece: number, begin: number, length: number, done: BlockDone): void {
    const plen = this.storage.pieceLength(piece);
    if (plen > this.maxPieceBytes) {
      this.storage.readBlock(piece, begin, length).then(
        (data) => done(null, { data, release: NO_RELEASE }),
        (err: unknown) => done(asError(err), null),
      );
      return;
    }
    let e = this.pieces.get(piece);
    if (e) {
      // LRU: most recently used last.
      this.pieces.delete(piece);
      this.pieces.set(piece, e);
      if (e.ready) {
        const ready = e.ready;
        e.pins++;
        const release = e.release;
        queueMicrotask(() => done(null, { data: ready.subarray(begin, begin + length), release }));
        return;
      }
    } else {
      e = this.load(piece, plen);
    }
    // Pinned before waiting: the buffer cannot be reused while this read is pending.
    e.pins++;
    e.waiters.push({ begin, length, done });
  }

  /** fetch() as a promise. */
  read(piece: number, begin: number, length: number): Promise<PinnedBlock> {
    return new Promise((resolve, reject) => this.fetch(piece, begin, length, (err, block) => (err ? reject(err) : resolve(block!))));
  }

  clear(): void {
    for (const e of [...this.pieces.values()]) this.evict(e);
  }

  /** An evicted entry nobody pins any more: its buffer may serve another piece. */
  recycle(e: Entry): void {
    if (this.spare.length < this.maxSpare) this.spare.push(e.buf);
  }

  private load(piece: number, plen: number): Entry {
    const spare = this.spare.pop();
    const buf = spare && spare.length === plen ? spare : Buffer.allocUnsafeSlow(plen);
    const e = new Entry(this, piece, buf);
    this.pieces.set(piece, e);
    this.bytes += plen;
    this.storage.readInto(piece, 0, buf).then(
      () => this.loaded(e, null),
      (err: unknown) => this.loaded(e, asError(err)),
    );
    while (this.bytes > this.maxBytes && this.pieces.size > 1) this.evict(this.pieces.values().next().value!);
    return e;
  }

  private loaded(e: Entry, err: Error | null): void {
    e.settled = true;
    const waiters = e.waiters;
    e.waiters = [];
    if (err) {
      // A failed read's buffer may be half written by a still-running read: never reuse it (evicted
      // while still pinned by its waiters, and no block of it is ever handed out to release it later).
      this.evict(e);
      e.pins -= waiters.length;
      for (const w of waiters) w.done(err, null);
      return;
    }
    // An entry evicted while it loaded is recycled by the last release of its blocks.
    if (!e.evicted) e.ready = e.buf;
    for (const w of waiters) w.done(null, { data: e.buf.subarray(w.begin, w.begin + w.length), release: e.release });
  }

  private evict(e: Entry): void {
    if (e.evicted) return;
    e.evicted = true;
    e.ready = null;
    if (this.pieces.get(e.piece) === e) this.pieces.delete(e.piece);
    this.bytes -= e.buf.length;
    // Only a loaded buffer nobody pins is safe to hand out again; a loading one is judged when it lands.
    if (e.settled && e.pins === 0) this.recycle(e);
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
