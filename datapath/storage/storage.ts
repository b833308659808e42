// A torrent's data on disk: pieces read and written across file boundaries through pooled handles,
// SHA-1 verified before a piece counts, and resume by hashing what is already there.
import { read, readSync, writevSync } from 'node:fs';
import { stat, type FileHandle } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { pieceHashOf, pieceLengthOf, type Metainfo } from '../metainfo/metainfo.js';
import { Bitfield } from './bitfield.js';
import { FilePool, type FileLease, type FileMode } from './file-pool.js';
import { PieceMap, type FileSegment } from './piece-map.js';
import { sha1Of } from './sha1.js';

const RESOLVED = Promise.resolve();

export class StorageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StorageError';
  }
}

export interface StorageOptions {
  /** Shared handle pool; without one the storage makes (and closes) its own small pool. */
  pool?: FilePool;
}

export class Storage {
  readonly have: Bitfield;
  private readonly map: PieceMap;
  private readonly ownPool: boolean;
  private readonly writing = new Set<number>();
  private closed = false;

  private constructor(
    readonly meta: Metainfo,
    /** Absolute path of every file, index-aligned with meta.files. */
    readonly filePaths: readonly string[],
    private readonly pool: FilePool,
    ownPool: boolean,
  ) {
    this.have = new Bitfield(meta.pieceCount);
    this.map = new PieceMap(meta);
    this.ownPool = ownPool;
  }

  /** Prepares storage under `dir` (folders are made lazily on first write). Refuses paths leaving `dir`. */
  static async open(meta: Metainfo, dir: string, opts: StorageOptions = {}): Promise<Storage> {
    const base = resolve(dir);
    const root = meta.multiFile ? resolve(base, meta.name) : base;
    const paths = meta.files.map((f) => {
      const p = resolve(root, ...f.path);
      // parseMetainfo already refuses unsafe components; this guards metainfo built by other means.
      if (!p.startsWith(base + sep)) throw new StorageError(`file '${f.path.join('/')}' would be outside ${base}`);
      return p;
    });
    return new Storage(meta, paths, opts.pool ?? new FilePool(16), opts.pool === undefined);
  }

  get pieceCount(): number {
    return this.meta.pieceCount;
  }

  pieceLength(piece: number): number {
    return pieceLengthOf(this.meta, piece);
  }

  /** Bytes of verified data we hold. */
  bytesHave(): number {
    let n = this.have.count() * this.meta.pieceLength;
    const last = this.meta.pieceCount - 1;
    if (this.have.get(last)) n -= this.meta.pieceLength - this.meta.lastPieceLength;
    return n;
  }

  /** Bytes still to download. */
  bytesLeft(): number {
    return this.meta.totalBytes - this.bytesHave();
  }

  /** Hash what is on disk (resume). Missing or short files are fine. Fills `have` and returns it. */
  async verifyExisting(onProgress?: (checkedPieces: number, totalPieces: number) => void): Promise<Bitfield> {
    this.checkOpen();
    const sizes = await Promise.all(
      this.filePaths.map(async (p) => {
        try {
          const st = await stat(p);
          return st.isFile() ? st.size : -1;
        } catch {
          return -1; // missing: pieces touching it cannot be complete
        }
      }),
    );
    const total = this.meta.pieceCount;
    // Two buffers: the next piece is read from disk while this one is hashed.
    const buffers: (Buffer | null)[] = [null, null];
    const startRead = (piece: number): Promise<Buffer | null> => {
      const length = this.pieceLength(piece);
      const segments = this.segmentsOf(piece, 0, length);
      if (!segments.every((s) => s.length === 0 || sizes[s.fileIndex]! >= s.fileOffset + s.length)) return Promise.resolve(null);
      const slot = piece & 1;
      const view = (buffers[slot] ??= Buffer.allocUnsafe(this.meta.pieceLength)).subarray(0, length);
      // Unreadable or shrunk meanwhile: treat as missing. Always in the thread pool: the read of the next
      // piece then overlaps this one's hash, and the loop serves other torrents' peers between pieces
      // (reads on the loop would chain the whole check through microtasks without ever yielding).
      return this.readSegments(segments, view, false).then(() => view, () => null);
    };
    let next: Promise<Buffer | null> = startRead(0);
    let lastReport = 0;
    for (let piece = 0; piece < total && !this.closed; piece++) {
      const data = await next;
      if (piece + 1 < total) next = startRead(piece + 1);
      const ok = data !== null && sha1Of(data).equals(pieceHashOf(this.meta, piece));
      this.have.set(piece, ok);
      const now = Date.now();
      if (onProgress && (now - lastReport >= 100 || piece === total - 1)) {
        lastReport = now;
        onProgress(piece + 1, total);
      }
    }
    await next.catch(() => null);
    return this.have;
  }

  /** Reads part of a verified piece (on the loop only while reads are fast: see loop-io-policy.ts). Throws StorageError for bad requests. */
  async readBlock(piece: number, begin: number, length: number): Promise<Buffer> {
    this.checkOpen();
    this.checkPiece(piece);
    const pieceLen = this.pieceLength(piece);
    if (!Number.isInteger(begin) || !Number.isInteger(length) || begin < 0 || length <= 0 || begin + length > pieceLen) {
      throw new StorageError(`block ${begin}+${length} outside piece ${piece} of ${pieceLen} bytes`);
    }
    if (!this.have.get(piece)) throw new StorageError(`piece ${piece} is not verified`);
    const out = Buffer.allocUnsafe(length);
    await this.readSegments(this.segmentsOf(piece, begin, length), out);
    return out;
  }

  /**
   * Reads `out.length` bytes of a verified piece from `begin` into `out` (a caller's reused buffer).
   * Not an async function: a seeder calls it per piece, and V8 compiling the async frame showed up.
   */
  readInto(piece: number, begin: number, out: Buffer): Promise<void> {
    try {
      this.checkOpen();
      this.checkPiece(piece);
      const pieceLen = this.pieceLength(piece);
      const length = out.length;
      if (!Number.isInteger(begin) || begin < 0 || length <= 0 || begin + length > pieceLen) {
        throw new StorageError(`block ${begin}+${length} outside piece ${piece} of ${pieceLen} bytes`);
      }
      if (!this.have.get(piece)) throw new StorageError(`piece ${piece} is not verified`);
      return this.readSegments(this.segmentsOf(piece, begin, length), out);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Reads a whole verified piece. */
  async readPiece(piece: number): Promise<Buffer> {
    this.checkPiece(piece);
    return this.readBlock(piece, 0, this.pieceLength(piece));
  }

  /**
   * Reads what is on disk for a piece that is not verified (e.g. the bytes of an attempt that failed its
   * hash, to tell which peer sent the bad block). Never offered to peers.
   */
  async readUnverified(piece: number): Promise<Buffer> {
    this.checkOpen();
    this.checkPiece(piece);
    if (this.have.get(piece)) throw new StorageError(`piece ${piece} is verified (use readPiece)`);
    const out = Buffer.allocUnsafe(this.pieceLength(piece));
    await this.readSegments(this.segmentsOf(piece, 0, out.length), out);
    return out;
  }

  /**
   * Verifies the SHA-1 of a whole piece; if it matches, writes it (across file boundaries) and marks it in
   * `have`. Returns false, writing nothing, on a mismatch. A piece already held is not written again.
   */
  async writePiece(piece: number, data: Buffer): Promise<boolean> {
    this.checkOpen();
    this.checkPiece(piece);
    const length = this.pieceLength(piece);
    if (data.length !== length) throw new StorageError(`piece ${piece} must be ${length} bytes, got ${data.length}`);
    if (!sha1Of(data).equals(pieceHashOf(this.meta, piece))) return false;
    if (this.have.get(piece) || this.writing.has(piece)) return true;
    this.writing.add(piece);
    try {
      const pending = this.writeRun(piece, 0, [data], false);
      if (pending) await pending;
      this.have.set(piece, true);
      return true;
    } finally {
      this.writing.delete(piece);
    }
  }

  /**
   * Writes `parts` (contiguous bytes) at `begin` of a piece that is not verified yet: they count for
   * nothing until markVerified. The parts may sit in a buffer the caller reuses as soon as this returns
   * (the socket's read buffer), so they are written now, on the loop, when the write policy allows and
   * the files are open; otherwise they are copied and written from the thread pool, and the promise
   * returned settles when that is done. Throws (or rejects with) StorageError.
   */
  writeUnverified(piece: number, begin: number, parts: readonly Buffer[]): Promise<void> | null {
    return this.writeRun(piece, begin, parts, true);
  }

  /** writeUnverified; `transient` parts are copied before a write that happens later. */
  private writeRun(piece: number, begin: number, parts: readonly Buffer[], transient: boolean): Promise<void> | null {
    this.checkOpen();
    this.checkPiece(piece);
    let length = 0;
    for (const p of parts) length += p.length;
    if (!Number.isInteger(begin) || begin < 0 || begin + length > this.pieceLength(piece)) {
      throw new StorageError(`write ${begin}+${length} outside piece ${piece} of ${this.pieceLength(piece)} bytes`);
    }
    const segments = this.segmentsOf(piece, begin, length);
    const policy = this.pool.writes;
    const nowMs = Date.now();
    if (policy.onLoop(nowMs)) {
      policy.starting(nowMs);
      const t0 = performance.now();
      if (this.writeOnLoop(piece, segments, parts)) {
        policy.record(performance.now() - t0, Date.now(), length);
        return null;
      }
    }
    const data = parts.length === 1 ? (transient ? Buffer.from(parts[0]!) : parts[0]!) : Buffer.concat(parts as Buffer[], length);
    return this.writeSegmentsLater(piece, segments, data);
  }

  /** A piece whose blocks were written with writeUnverified passed its hash check: it now counts. */
  markVerified(piece: number): void {
    this.checkOpen();
    this.checkPiece(piece);
    this.have.set(piece, true);
  }

  /** Closes our handles (a shared pool stays open for other torrents). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownPool) await this.pool.close();
    else await Promise.all(this.filePaths.map((p) => this.pool.forget(p)));
  }

  private segmentsOf(piece: number, begin: number, length: number): FileSegment[] {
    return this.map.segments(piece * this.meta.pieceLength + begin, length);
  }

  /** Reads the segments into `out`; `mayUseLoop` false keeps the reads in the thread pool whatever the policy. */
  private async readSegments(segments: FileSegment[], out: Buffer, mayUseLoop = true): Promise<void> {
    if (segments.length === 1) return this.readSegment(segments[0]!, out, mayUseLoop);
    await Promise.all(segments.filter((s) => s.length > 0).map((s) => this.readSegment(s, out, mayUseLoop)));
  }

  private readSegment(s: FileSegment, out: Buffer, mayUseLoop: boolean): Promise<void> {
    const path = this.filePaths[s.fileIndex]!;
    // An open handle is read with fs.read's callback straight away: the FileHandle path (an async
    // function per call, promises per read) was a good share of a seeder's CPU, most of it V8
    // compiling that code during a short transfer.
    const lease = this.pool.leaseOpen(path, 'read');
    if (lease) {
      const policy = this.pool.reads;
      const nowMs = Date.now();
      if (mayUseLoop && policy.onLoop(nowMs)) {
        policy.starting(nowMs);
        const t0 = performance.now();
        try {
          readSegmentNow(lease.handle.fd, s, out, path);
        } catch (err) {
          return Promise.reject(err);
        } finally {
          lease.release();
        }
        policy.record(performance.now() - t0, Date.now(), s.length);
        return RESOLVED;
      }
      return new Promise((resolvePromise, reject) => {
        let done = 0;
        const step = (): void => {
          read(lease.handle.fd, out, s.bufferOffset + done, s.length - done, s.fileOffset + done, (err, bytesRead) => {
            if (err || bytesRead <= 0) {
              lease.release();
              reject(err ? new StorageError(`reading ${path}: ${errorText(err)}`) : new StorageError(`${path} is shorter than expected`));
              return;
            }
            done += bytesRead;
            if (done < s.length) return step();
            lease.release();
            resolvePromise();
          });
        };
        step();
      });
    }
    return this.withFile(s.fileIndex, 'read', async (h) => {
      let done = 0;
      while (done < s.length) {
        const { bytesRead } = await h.read(out, s.bufferOffset + done, s.length - done, s.fileOffset + done);
        if (bytesRead <= 0) throw new StorageError(`${path} is shorter than expected`);
        done += bytesRead;
      }
    });
  }

  /** Writes the run now when every file it touches is open (true); false writes nothing (not all open). */
  private writeOnLoop(piece: number, segments: readonly FileSegment[], parts: readonly Buffer[]): boolean {
    const leases: FileLease[] = [];
    try {
      for (const s of segments) {
        const lease = this.pool.leaseOpen(this.filePaths[s.fileIndex]!, 'write');
        if (!lease) return false;
        leases.push(lease);
      }
      for (let i = 0; i < segments.length; i++) this.writeSegmentNow(leases[i]!.handle.fd, segments[i]!, parts);
      return true;
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw new StorageError(`writing piece ${piece}: ${errorText(err)}`);
    } finally {
      for (const l of leases) l.release();
    }
  }

  /** Writes segment `s` of the run made of `parts` with pwritev, finishing short writes. */
  private writeSegmentNow(fd: number, s: FileSegment, parts: readonly Buffer[]): void {
    let done = 0;
    while (done < s.length) {
      const iov = slicePartsOf(parts, s.bufferOffset + done, s.length - done);
      const n = writevSync(fd, iov, s.fileOffset + done);
      if (n <= 0) throw new StorageError(`short write to ${this.filePaths[s.fileIndex]}`);
      done += n;
    }
  }

  private async writeSegmentsLater(piece: number, segments: FileSegment[], data: Buffer): Promise<void> {
    try {
      await Promise.all(
        segments.map((s) =>
          this.withFile(s.fileIndex, 'write', async (h) => {
            let done = 0;
            while (done < s.length) {
              const { bytesWritten } = await h.write(data, s.bufferOffset + done, s.length - done, s.fileOffset + done);
              if (bytesWritten <= 0) throw new StorageError(`short write to ${this.filePaths[s.fileIndex]}`);
              done += bytesWritten;
            }
          }),
        ),
      );
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw new StorageError(`writing piece ${piece}: ${errorText(err)}`);
    }
  }

  private async withFile<T>(fileIndex: number, mode: FileMode, fn: (h: FileHandle) => Promise<T>): Promise<T> {
    const path = this.filePaths[fileIndex]!;
    let lease;
    try {
      lease = await this.pool.acquire(path, mode);
    } catch (err) {
      throw new StorageError(`cannot open ${path}: ${errorText(err)}`);
    }
    try {
      return await fn(lease.handle);
    } finally {
      lease.release();
    }
  }

  private checkPiece(piece: number): void {
    if (!Number.isInteger(piece) || piece < 0 || piece >= this.meta.pieceCount) {
      throw new StorageError(`piece ${piece} out of range 0..${this.meta.pieceCount - 1}`);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError('storage is closed');
  }
}

/** The buffers covering bytes [from, from + length) of the run made of `parts` laid end to end. */
function slicePartsOf(parts: readonly Buffer[], from: number, length: number): readonly Buffer[] {
  if (from === 0) {
    // The common case (a run inside one file, written whole): the parts as they are, no views made.
    let total = 0;
    for (const p of parts) total += p.length;
    if (total === length) return parts;
  }
  const out: Buffer[] = [];
  let at = 0;
  const end = from + length;
  for (const p of parts) {
    const pEnd = at + p.length;
    if (pEnd > from && at < end) out.push(p.subarray(Math.max(0, from - at), Math.min(p.length, end - at)));
    if (pEnd >= end) break;
    at = pEnd;
  }
  return out;
}

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? (err instanceof Error ? err.message : String(err));
}

/** Reads segment `s` into `out` now, on the loop (the read policy allows it), finishing short reads. */
function readSegmentNow(fd: number, s: FileSegment, out: Buffer, path: string): void {
  let done = 0;
  while (done < s.length) {
    let n: number;
    try {
      n = readSync(fd, out, s.bufferOffset + done, s.length - done, s.fileOffset + done);
    } catch (err) {
      throw new StorageError(`reading ${path}: ${errorText(err)}`);
    }
    if (n <= 0) throw new StorageError(`${path} is shorter than expected`);
    done += n;
  }
}
