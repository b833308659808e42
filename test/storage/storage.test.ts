import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseMetainfo, type Metainfo } from '../../datapath/metainfo/metainfo.js';
import { FilePool } from '../../datapath/storage/file-pool.js';
import { PieceMap } from '../../datapath/storage/piece-map.js';
import { Storage, StorageError } from '../../datapath/storage/storage.js';
import { multiFileTorrent, patternBytes, singleFileTorrent } from '../metainfo/build-torrent.js';

const PL = 16384;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccp-bt-storage-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Three small files inside piece 1 (so piece 1 spans 3+ files), a zero-length file and a big tail. */
function spanningTorrent(): { meta: Metainfo; files: { path: string[]; data: Buffer }[]; all: Buffer } {
  const files = [
    { path: ['a.bin'], data: patternBytes(PL + 1000, 1) }, // ends inside piece 1
    { path: ['sub', 'b.bin'], data: patternBytes(3000, 2) }, // wholly inside piece 1
    { path: ['sub', 'empty'], data: Buffer.alloc(0) },
    { path: ['sub', 'deeper', 'c.bin'], data: patternBytes(2 * PL + 500, 3) }, // starts inside piece 1
  ];
  const all = Buffer.concat(files.map((f) => f.data));
  return { meta: parseMetainfo(multiFileTorrent('pack', files, PL)), files, all };
}

function pieceOf(meta: Metainfo, all: Buffer, i: number): Buffer {
  return all.subarray(i * meta.pieceLength, Math.min(all.length, (i + 1) * meta.pieceLength));
}

describe('Storage', () => {
  it('writes a piece spanning three files and reads blocks back across the boundaries', async () => {
    const { meta, files, all } = spanningTorrent();
    const segs = new PieceMap(meta).segments(PL, PL).filter((s) => s.length > 0);
    expect(segs.map((s) => s.fileIndex)).toEqual([0, 1, 3]);

    const storage = await Storage.open(meta, dir);
    expect(await storage.writePiece(1, Buffer.from(pieceOf(meta, all, 1)))).toBe(true);
    expect(storage.have.get(1)).toBe(true);
    expect(storage.have.count()).toBe(1);
    // A block straddling all three files.
    const block = await storage.readBlock(1, 500, 4000);
    expect(block.equals(all.subarray(PL + 500, PL + 4500))).toBe(true);
    await storage.close();

    // On disk: b.bin whole, the zero-length file created, a.bin's and c.bin's parts at the right offsets.
    expect((await readFile(join(dir, 'pack', 'sub', 'b.bin'))).equals(files[1]!.data)).toBe(true);
    expect((await stat(join(dir, 'pack', 'sub', 'empty'))).size).toBe(0);
    const a = await readFile(join(dir, 'pack', 'a.bin'));
    expect(a.length).toBe(PL + 1000);
    expect(a.subarray(PL).equals(files[0]!.data.subarray(PL))).toBe(true);
    const c = await readFile(join(dir, 'pack', 'sub', 'deeper', 'c.bin'));
    expect(c.subarray(0, PL - 4000).equals(files[3]!.data.subarray(0, PL - 4000))).toBe(true);
  });

  it('refuses corrupt pieces, writing nothing', async () => {
    const { meta, all } = spanningTorrent();
    const storage = await Storage.open(meta, dir);
    const bad = Buffer.from(pieceOf(meta, all, 0));
    bad[100]! ^= 1;
    expect(await storage.writePiece(0, bad)).toBe(false);
    expect(storage.have.get(0)).toBe(false);
    expect(existsSync(join(dir, 'pack'))).toBe(false);
    await expect(storage.writePiece(0, Buffer.alloc(5))).rejects.toThrow(StorageError);
    await expect(storage.writePiece(99, Buffer.alloc(5))).rejects.toThrow(/out of range/);
    await storage.close();
  });

  it('only serves verified pieces, within bounds', async () => {
    const { meta, all } = spanningTorrent();
    const storage = await Storage.open(meta, dir);
    await expect(storage.readBlock(0, 0, 16)).rejects.toThrow(/not verified/);
    await storage.writePiece(0, Buffer.from(pieceOf(meta, all, 0)));
    await expect(storage.readBlock(0, PL - 10, 20)).rejects.toThrow(/outside piece/);
    await expect(storage.readBlock(0, -1, 20)).rejects.toThrow(/outside piece/);
    await expect(storage.readBlock(0, 0, 0)).rejects.toThrow(/outside piece/);
    await expect(storage.readBlock(-1, 0, 1)).rejects.toThrow(/out of range/);
    expect((await storage.readPiece(0)).equals(pieceOf(meta, all, 0))).toBe(true);
    await storage.close();
  });

  it('reads back an unverified attempt across files (to judge who sent bad blocks), never a verified piece', async () => {
    const { meta, all } = spanningTorrent();
    const storage = await Storage.open(meta, dir);
    const bad = Buffer.from(pieceOf(meta, all, 1));
    bad[7]! ^= 1;
    const landed = storage.writeUnverified(1, 0, [bad.subarray(0, 5000), bad.subarray(5000)]);
    if (landed) await landed;
    expect(storage.have.get(1)).toBe(false);
    expect((await storage.readUnverified(1)).equals(bad)).toBe(true);
    await expect(storage.readPiece(1)).rejects.toThrow(/not verified/);
    await storage.writePiece(0, Buffer.from(pieceOf(meta, all, 0)));
    await expect(storage.readUnverified(0)).rejects.toThrow(/is verified/);
    await storage.close();
  });

  it('reads through an open handle as through a new one, and a file cut short under it is an error', async () => {
    const { meta, all } = spanningTorrent();
    const storage = await Storage.open(meta, dir);
    await storage.writePiece(0, Buffer.from(pieceOf(meta, all, 0)));
    // The first read opens the handle; the next ones take it from the pool without waiting.
    for (let i = 0; i < 3; i++) expect((await storage.readBlock(0, 100, 5000)).equals(all.subarray(100, 5100))).toBe(true);
    const out = Buffer.alloc(PL);
    await storage.readInto(0, 0, out);
    expect(out.equals(pieceOf(meta, all, 0))).toBe(true);
    await truncate(join(dir, 'pack', 'a.bin'), 1000);
    await expect(storage.readBlock(0, 100, 5000)).rejects.toThrow(StorageError);
    await expect(storage.readBlock(0, 100, 5000)).rejects.toThrow(/a\.bin is shorter than expected/);
    await storage.close();
  });

  it('resumes after partial writes and detects corruption on disk', async () => {
    const { meta, all } = spanningTorrent();
    const first = await Storage.open(meta, dir);
    await first.writePiece(0, Buffer.from(pieceOf(meta, all, 0)));
    await first.writePiece(2, Buffer.from(pieceOf(meta, all, 2)));
    await first.close();

    const progress: [number, number][] = [];
    const second = await Storage.open(meta, dir);
    const have = await second.verifyExisting((done, total) => progress.push([done, total]));
    expect([...Array(meta.pieceCount).keys()].filter((i) => have.get(i))).toEqual([0, 2]);
    expect(progress.at(-1)).toEqual([meta.pieceCount, meta.pieceCount]);
    expect(second.bytesLeft()).toBe(meta.totalBytes - 2 * PL);
    // Finish the download, then check the whole thing against the source.
    for (let i = 0; i < meta.pieceCount; i++) if (!have.get(i)) expect(await second.writePiece(i, Buffer.from(pieceOf(meta, all, i)))).toBe(true);
    expect(second.have.complete()).toBe(true);
    expect(second.bytesLeft()).toBe(0);
    await second.close();

    // Flip one byte inside c.bin (piece 2) and cut a.bin short (piece 1 now incomplete too).
    const cPath = join(dir, 'pack', 'sub', 'deeper', 'c.bin');
    const c = await readFile(cPath);
    c[PL]! ^= 0xff;
    await writeFile(cPath, c);
    await truncate(join(dir, 'pack', 'a.bin'), PL + 10);
    const third = await Storage.open(meta, dir);
    const after = await third.verifyExisting();
    const held = [...Array(meta.pieceCount).keys()].filter((i) => after.get(i));
    expect(held).toEqual([0, 3]);
    await third.close();
  });

  it('verifies nothing in an empty folder', async () => {
    const { meta } = spanningTorrent();
    const storage = await Storage.open(meta, dir);
    expect((await storage.verifyExisting()).count()).toBe(0);
    await storage.close();
  });

  it('handles single-file torrents and concurrent writes of many pieces', async () => {
    const data = patternBytes(10 * PL + 123, 9);
    const meta = parseMetainfo(singleFileTorrent('one.bin', data, PL));
    const storage = await Storage.open(meta, dir);
    const results = await Promise.all([...Array(meta.pieceCount).keys()].reverse().map((i) => storage.writePiece(i, Buffer.from(pieceOf(meta, data, i)))));
    expect(results.every(Boolean)).toBe(true);
    await storage.close();
    expect((await readFile(join(dir, 'one.bin'))).equals(data)).toBe(true);
  });

  it('shares a small file pool between torrents without running out of handles', async () => {
    const pool = new FilePool(2);
    const made = [1, 2, 3].map((seed) => {
      const files = [0, 1, 2, 3].map((k) => ({ path: [`f${k}`], data: patternBytes(5000, seed * 10 + k) }));
      const all = Buffer.concat(files.map((f) => f.data));
      return { meta: parseMetainfo(multiFileTorrent(`t${seed}`, files, PL)), all };
    });
    const stores = await Promise.all(made.map((m) => Storage.open(m.meta, dir, { pool })));
    await Promise.all(stores.map((s, k) => s.writePiece(0, Buffer.from(pieceOf(made[k]!.meta, made[k]!.all, 0)))));
    expect(pool.openCount).toBeLessThanOrEqual(2);
    const reads = await Promise.all(stores.map((s) => s.readBlock(0, 4990, 3000)));
    reads.forEach((r, k) => expect(r.equals(made[k]!.all.subarray(4990, 7990))).toBe(true));
    await Promise.all(stores.map((s) => s.close()));
    await pool.close();
  });

  it('closes the least recently used idle handle first, and never one in use', async () => {
    const pool = new FilePool(2);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => join(dir, n));
    (await pool.acquire(a!, 'write')).release();
    (await pool.acquire(b!, 'write')).release();
    pool.leaseOpen(a!, 'write')!.release(); // a is now used more recently than b
    (await pool.acquire(c!, 'write')).release();
    expect([pool.openCount, pool.leaseOpen(b!, 'write'), pool.leaseOpen(a!, 'read')]).toEqual([2, null, null]);
    const busy = pool.leaseOpen(a!, 'write')!;
    expect(busy).not.toBeNull();
    (await pool.acquire(d!, 'write')).release(); // c goes; a is leased and stays
    expect(pool.leaseOpen(c!, 'write')).toBeNull();
    const stillA = pool.leaseOpen(a!, 'write')!;
    expect(stillA.handle).toBe(busy.handle);
    stillA.release();
    busy.release();
    busy.release(); // a second release is a no-op, not a second decrement
    expect(pool.openCount).toBe(2);
    await pool.close();
  });

  it('never writes outside the folder, even for metainfo built by hand', async () => {
    const { meta } = spanningTorrent();
    const evil: Metainfo = { ...meta, files: [{ path: ['..', '..', 'x'], length: meta.totalBytes, offset: 0 }] };
    await expect(Storage.open(evil, join(dir, 'inner'))).rejects.toThrow(/outside/);
  });

  it('reports unwritable folders as StorageError', async () => {
    const { meta, all } = spanningTorrent();
    await mkdir(join(dir, 'blocked'));
    await writeFile(join(dir, 'blocked', 'pack'), 'a file where the folder should be');
    const storage = await Storage.open(meta, join(dir, 'blocked'));
    await expect(storage.writePiece(0, Buffer.from(pieceOf(meta, all, 0)))).rejects.toThrow(StorageError);
    expect(storage.have.get(0)).toBe(false);
    await storage.close();
  });
});

describe('PieceMap', () => {
  it('covers every range exactly once, in order, for random file layouts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5000 })), { minLength: 1, maxLength: 12 }),
        fc.nat(),
        fc.nat(),
        (lengths, a, b) => {
          const total = lengths.reduce((x, y) => x + y, 0);
          fc.pre(total > 0);
          let offset = 0;
          const files = lengths.map((length, i) => {
            const f = { path: [`f${i}`], length, offset };
            offset += length;
            return f;
          });
          const meta = { files, totalBytes: total } as Metainfo;
          const start = a % total;
          const length = 1 + (b % (total - start));
          const segs = new PieceMap(meta).segments(start, length);
          let covered = 0;
          for (const s of segs) {
            const f = files[s.fileIndex]!;
            expect(s.bufferOffset).toBe(f.offset + s.fileOffset - start);
            if (s.length > 0) {
              expect(s.bufferOffset).toBe(covered);
              covered += s.length;
            }
            expect(s.fileOffset + s.length).toBeLessThanOrEqual(f.length);
          }
          expect(covered).toBe(length);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('assigns each zero-length file to exactly one piece', () => {
    const lengths = [0, 100, 0, 0, 156, 0, 256, 0];
    let offset = 0;
    const files = lengths.map((length, i) => {
      const f = { path: [`f${i}`], length, offset };
      offset += length;
      return f;
    });
    const meta = { files, totalBytes: offset } as Metainfo;
    const map = new PieceMap(meta);
    const seen: number[] = [];
    for (let p = 0; p < 2; p++) {
      for (const s of map.segments(p * 256, 256)) if (files[s.fileIndex]!.length === 0) seen.push(s.fileIndex);
    }
    expect(seen.sort()).toEqual([0, 2, 3, 5, 7]);
  });
});
