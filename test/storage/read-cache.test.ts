// The piece read cache over real storage: blocks served are the file's bytes; an evicted piece's
// buffer is reused only after every block served from it was released.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseMetainfo } from '../../datapath/metainfo/metainfo.js';
import { Storage } from '../../datapath/storage/storage.js';
import { PieceReadCache, type BlockReader, type PinnedBlock } from '../../datapath/swarm/read-cache.js';
import { patternBytes, singleFileTorrent } from '../metainfo/build-torrent.js';

const PL = 32768;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccp-bt-readcache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function seeded(pieces: number): Promise<{ storage: Storage; data: Buffer }> {
  const data = patternBytes(PL * pieces - 1000, 7); // a short last piece too
  const meta = parseMetainfo(singleFileTorrent('f.bin', data, PL));
  await writeFile(join(dir, 'f.bin'), data);
  const storage = await Storage.open(meta, dir);
  await storage.verifyExisting();
  expect(storage.have.complete()).toBe(true);
  return { storage, data };
}

describe('PieceReadCache', () => {
  it('serves the right bytes while recycling buffers, and never reuses a pinned one', async () => {
    const pieces = 12;
    const { storage, data } = await seeded(pieces);
    // Room for two pieces: reading the pieces in turn evicts all the time.
    const cache = new PieceReadCache(storage, 2 * PL, 4 * PL, 4);
    const held = await cache.read(0, 100, 5000); // pinned, never released during the reads below
    const heldCopy = Buffer.from(held.data);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < pieces; i++) {
        const plen = storage.pieceLength(i);
        const b = await cache.read(i, 16384, Math.min(16384, plen - 16384));
        expect(b.data.equals(data.subarray(i * PL + 16384, i * PL + plen))).toBe(true);
        const again = cache.peek(i, 0, 16384);
        expect(again?.data.equals(data.subarray(i * PL, i * PL + 16384))).toBe(true);
        b.release();
        again?.release();
      }
    }
    // The pinned block still holds piece 0's bytes although piece 0 was evicted many times.
    expect(held.data.equals(heldCopy)).toBe(true);
    expect(held.data.equals(data.subarray(100, 5100))).toBe(true);
    held.release();
    cache.clear();
    expect(cache.peek(3, 0, 10)).toBeNull();
    await storage.close();
  });

  it('blocks asked for while their piece loads share one disk read; a piece evicted meanwhile is reused only once released', async () => {
    const { storage, data } = await seeded(6);
    let diskReads = 0;
    const counting: BlockReader = {
      readBlock: (p, b, l) => storage.readBlock(p, b, l),
      readInto: (p, b, out) => {
        diskReads++;
        return storage.readInto(p, b, out);
      },
      pieceLength: (p) => storage.pieceLength(p),
    };
    const cache = new PieceReadCache(counting, PL, 4 * PL, 4); // room for one piece
    const got: PinnedBlock[] = [];
    const all = Promise.all([0, 1, 2, 3].map((k) => new Promise<void>((resolve, reject) => {
      cache.fetch(0, k * 8192, 8192, (err, b) => (err ? reject(err) : (got.push(b!), resolve())));
    })));
    // Piece 1 pushes piece 0 out while piece 0 is still loading.
    const other = cache.read(1, 0, 100);
    await all;
    expect(diskReads).toBe(2);
    const copies = got.map((b) => Buffer.from(b.data));
    for (const [i, b] of got.entries()) expect(b.data.equals(data.subarray(i * 8192, (i + 1) * 8192))).toBe(true);
    (await other).release();
    // Piece 0's buffer is pinned by its four blocks: reading more pieces must not overwrite it.
    for (let p = 2; p < 6; p++) (await cache.read(p, 0, 100)).release();
    for (const [i, b] of got.entries()) expect(b.data.equals(copies[i]!)).toBe(true);
    for (const b of got) b.release();
    await storage.close();
  });

  it('a failed read rejects and leaves the cache usable', async () => {
    const { storage, data } = await seeded(3);
    const cache = new PieceReadCache(storage, 2 * PL, 4 * PL);
    storage.have.set(1, false); // not verified: storage refuses it
    // Every block waiting on the failed read gets the error.
    await expect(Promise.all([cache.read(1, 0, 10), cache.read(1, 100, 10)])).rejects.toThrow(/not verified/);
    await expect(cache.read(1, 200, 10)).rejects.toThrow(/not verified/);
    storage.have.set(1, true);
    const b = await cache.read(1, 0, 10);
    expect(b.data.equals(data.subarray(PL, PL + 10))).toBe(true);
    b.release();
    await storage.close();
  });
});
