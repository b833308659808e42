// Whole pieces read once and served block by block: one disk read per piece instead of one per
// 16 KiB block, and peers downloading the same pieces share it. Bounded LRU by bytes; pieces larger
// than `maxPieceBytes` are read block by block instead.

export interface BlockReader {
  readBlock(piece: number, begin: number, length: number): Promise<Buffer>;
  pieceLength(piece: number): number;
}

export class PieceReadCache {
  private readonly pieces = new Map<number, Promise<Buffer>>();
  /** Pieces whose read has completed, for the synchronous fast path. */
  private readonly ready = new Map<number, Buffer>();
  private bytes = 0;

  constructor(
    private readonly storage: BlockReader,
    private readonly maxBytes = 32 * 1024 * 1024,
    private readonly maxPieceBytes = 4 * 1024 * 1024,
  ) {}

  /** The block at once if its piece is already in memory (no promise, no microtask), else null. */
  peek(piece: number, begin: number, length: number): Buffer | null {
    const buf = this.ready.get(piece);
    return buf ? buf.subarray(begin, begin + length) : null;
  }

  async read(piece: number, begin: number, length: number): Promise<Buffer> {
    const plen = this.storage.pieceLength(piece);
    if (plen > this.maxPieceBytes) return this.storage.readBlock(piece, begin, length);
    let p = this.pieces.get(piece);
    if (p) {
      // LRU: most recently used last.
      this.pieces.delete(piece);
      this.pieces.set(piece, p);
    } else {
      const started = this.storage.readBlock(piece, 0, plen);
      p = started;
      this.pieces.set(piece, p);
      this.bytes += plen;
      p.then(
        (buf) => {
          if (this.pieces.get(piece) === started) this.ready.set(piece, buf);
        },
        () => this.drop(piece, started),
      );
      while (this.bytes > this.maxBytes && this.pieces.size > 1) {
        const [oldest, op] = this.pieces.entries().next().value!;
        this.drop(oldest, op);
      }
    }
    const buf = await p;
    return buf.subarray(begin, begin + length);
  }

  clear(): void {
    this.pieces.clear();
    this.ready.clear();
    this.bytes = 0;
  }

  private drop(piece: number, p: Promise<Buffer>): void {
    if (this.pieces.get(piece) !== p) return;
    this.pieces.delete(piece);
    this.ready.delete(piece);
    this.bytes -= this.storage.pieceLength(piece);
  }
}
