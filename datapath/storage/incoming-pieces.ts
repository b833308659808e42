// Pieces being downloaded, block by block. A block is hashed and written to disk straight from the
// buffer it arrived in (the socket's shared read buffer), so its bytes are never copied in user space:
// assembling pieces in memory first cost a copy into cold memory that was ~15 % of a fast leecher's CPU
// (bench:transfer). A piece counts only once all its blocks are in, its SHA-1 matches and its writes
// have landed; until then what is on disk is just bytes, and a failed piece is simply downloaded again.
import type { Hash } from 'node:crypto';
import { pieceHashOf } from '../metainfo/metainfo.js';
import { newSha1 } from './sha1.js';
import type { Storage } from './storage.js';

/** Blocks gathered into one write at most (well under IOV_MAX). */
const MAX_RUN_PARTS = 64;
const RESOLVED_TRUE = Promise.resolve(true);
const RESOLVED_FALSE = Promise.resolve(false);

interface Incoming {
  readonly hash: Hash;
  /** Bytes from the piece's start that went into `hash`. */
  hashedTo: number;
  /** Blocks that arrived ahead of `hashedTo`, copied (they wait for the gap before them), by offset. */
  readonly ahead: Map<number, Buffer>;
  /** Writes handed to the thread pool. */
  readonly writes: Promise<void>[];
  /** The first write that failed. */
  failure: unknown;
}

/** Contiguous blocks of one piece waiting to be written together. */
interface Run {
  piece: number;
  begin: number;
  end: number;
  readonly parts: Buffer[];
}

export class IncomingPieces {
  private readonly pieces = new Map<number, Incoming>();
  private run: Run | null = null;

  constructor(private readonly storage: Storage) {}

  /**
   * A block of `piece` at `begin`, new to us (the picker filters duplicates). `data` may be reused by its
   * owner once the current read is handled: call flush() before that.
   */
  add(piece: number, begin: number, data: Buffer): void {
    let p = this.pieces.get(piece);
    if (!p) {
      p = { hash: newSha1(), hashedTo: 0, ahead: new Map(), writes: [], failure: undefined };
      this.pieces.set(piece, p);
    }
    if (begin === p.hashedTo) {
      p.hash.update(data);
      p.hashedTo += data.length;
      for (let next = p.ahead.get(p.hashedTo); next !== undefined; next = p.ahead.get(p.hashedTo)) {
        p.ahead.delete(p.hashedTo);
        p.hash.update(next);
        p.hashedTo += next.length;
      }
    } else if (begin > p.hashedTo) {
      p.ahead.set(begin, Buffer.from(data));
    }
    const run = this.run;
    if (run && run.piece === piece && run.end === begin && run.parts.length < MAX_RUN_PARTS) {
      run.parts.push(data);
      run.end += data.length;
    } else {
      this.flush();
      this.run = { piece, begin, end: begin + data.length, parts: [data] };
    }
  }

  /** Writes the blocks added since the last flush. Call before the buffers they are in are reused. */
  flush(): void {
    const run = this.run;
    if (!run) return;
    this.run = null;
    const p = this.pieces.get(run.piece);
    try {
      const later = this.storage.writeUnverified(run.piece, run.begin, run.parts);
      if (later && p) p.writes.push(later.catch((err: unknown) => void (p.failure ??= err)));
    } catch (err) {
      if (p) p.failure ??= err;
    }
  }

  /**
   * Every block of `piece` was added: true when its hash matches and it is on disk (then it counts in
   * storage), false when the hash failed (start it over). Rejects when a write failed.
   */
  complete(piece: number, length: number): Promise<boolean> {
    if (this.run?.piece === piece) this.flush();
    const p = this.pieces.get(piece);
    this.pieces.delete(piece);
    if (!p) return RESOLVED_FALSE;
    const ok = p.hashedTo === length && p.hash.digest().equals(pieceHashOf(this.storage.meta, piece));
    // Not an async function: this runs per piece, and V8 compiling an async frame for it cost more than
    // the rare wait for writes in the thread pool.
    if (p.writes.length === 0) return this.settle(piece, p, ok);
    return Promise.all(p.writes).then(() => this.settle(piece, p, ok));
  }

  private settle(piece: number, p: Incoming, ok: boolean): Promise<boolean> {
    if (p.failure !== undefined) return Promise.reject(p.failure);
    if (!ok) return RESOLVED_FALSE;
    try {
      this.storage.markVerified(piece);
    } catch (err) {
      return Promise.reject(err);
    }
    return RESOLVED_TRUE;
  }

  /** Pieces with blocks in, for tests and stats. */
  get size(): number {
    return this.pieces.size;
  }
}
