// Blocks are hashed and written straight from a buffer that is overwritten after every flush (as the
// socket's shared read buffer is): whatever the order of the blocks, the write mode and where the file
// boundaries fall, the files end up byte-identical and a piece counts only when its hash matches.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseMetainfo, type Metainfo } from '../../datapath/metainfo/metainfo.js';
import { FilePool } from '../../datapath/storage/file-pool.js';
import { IncomingPieces } from '../../datapath/storage/incoming-pieces.js';
import { Storage } from '../../datapath/storage/storage.js';
import type { IoMode } from '../../datapath/storage/loop-io-policy.js';
import { multiFileTorrent, patternBytes } from '../metainfo/build-torrent.js';

const BLOCK = 16384;
const PL = 4 * BLOCK;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccp-bt-incoming-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Files whose boundaries fall inside blocks, with an empty file between two of them.
const FILES = [
  { path: ['a.bin'], data: patternBytes(PL + 700, 1) },
  { path: ['empty.bin'], data: Buffer.alloc(0) },
  { path: ['d', 'b.bin'], data: patternBytes(2 * PL - 300, 2) },
  { path: ['c.bin'], data: patternBytes(BLOCK + 5, 3) },
];
const ALL = Buffer.concat(FILES.map((f) => f.data));

interface Rig {
  meta: Metainfo;
  storage: Storage;
  pool: FilePool;
  incoming: IncomingPieces;
  out: string;
}

async function rig(name: string, mode: IoMode): Promise<Rig> {
  const meta = parseMetainfo(multiFileTorrent('pack', FILES, PL));
  const pool = new FilePool(4, mode);
  const out = join(dir, name);
  const storage = await Storage.open(meta, out, { pool });
  return { meta, storage, pool, incoming: new IncomingPieces(storage), out };
}

/** Every block of the torrent as [piece, begin, length]. */
function blocksOf(meta: Metainfo): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let piece = 0; piece < meta.pieceCount; piece++) {
    const len = Math.min(PL, meta.totalBytes - piece * PL);
    for (let begin = 0; begin < len; begin += BLOCK) out.push([piece, begin, Math.min(BLOCK, len - begin)]);
  }
  return out;
}

/**
 * Feeds `blocks` in order through one reused "read buffer", flushing and then scribbling over it after
 * every `perRead` blocks; completes each piece when its last block is in. Returns the verdicts.
 */
async function feed(r: Rig, blocks: [number, number, number][], perRead: number, source = ALL): Promise<Map<number, boolean>> {
  const readBuffer = Buffer.alloc(perRead * (BLOCK + 13));
  const left = new Map<number, number>();
  for (const [piece, , len] of blocks) left.set(piece, (left.get(piece) ?? 0) + len);
  const verdicts: Promise<[number, boolean]>[] = [];
  for (let i = 0; i < blocks.length; i += perRead) {
    let at = 13; // a message header's worth between blocks, as on the wire
    const done: number[] = [];
    for (const [piece, begin, len] of blocks.slice(i, i + perRead)) {
      const off = piece * PL + begin;
      source.copy(readBuffer, at, off, off + len);
      r.incoming.add(piece, begin, readBuffer.subarray(at, at + len));
      at += len + 13;
      left.set(piece, left.get(piece)! - len);
      if (left.get(piece) === 0) done.push(piece);
    }
    for (const piece of done) {
      const len = Math.min(PL, r.meta.totalBytes - piece * PL);
      verdicts.push(r.incoming.complete(piece, len).then((ok) => [piece, ok]));
    }
    r.incoming.flush();
    readBuffer.fill(0xee);
  }
  return new Map(await Promise.all(verdicts));
}

async function filesOf(r: Rig): Promise<Buffer> {
  return Buffer.concat(await Promise.all(FILES.map((f) => readFile(join(r.out, 'pack', ...f.path)))));
}

async function close(r: Rig): Promise<void> {
  await r.storage.close();
  await r.pool.close();
}

describe('IncomingPieces', () => {
  it('writes blocks in order from a reused buffer, in both write modes, across file boundaries', async () => {
    for (const mode of ['adaptive', 'async'] as const) {
      const r = await rig(mode, mode);
      const verdicts = await feed(r, blocksOf(r.meta), 3);
      expect([...verdicts.values()].every((ok) => ok)).toBe(true);
      expect(r.storage.have.complete()).toBe(true);
      expect(r.incoming.size).toBe(0);
      expect((await filesOf(r)).equals(ALL)).toBe(true);
      await close(r);
    }
  });

  it('blocks out of order (the later ones wait for the gap) give the same files', async () => {
    const r = await rig('reverse', 'adaptive');
    const verdicts = await feed(r, blocksOf(r.meta).reverse(), 2);
    expect(verdicts.size).toBe(r.meta.pieceCount);
    expect([...verdicts.values()].every((ok) => ok)).toBe(true);
    expect((await filesOf(r)).equals(ALL)).toBe(true);
    await close(r);
  });

  it('a corrupt block fails its piece, which does not count until sent again right', async () => {
    const r = await rig('corrupt', 'adaptive');
    const bad = Buffer.from(ALL);
    bad[PL + 5000] ^= 0xff; // inside piece 1
    const first = await feed(r, blocksOf(r.meta), 4, bad);
    expect(first.get(1)).toBe(false);
    expect(r.storage.have.get(1)).toBe(false);
    expect(r.storage.have.count()).toBe(r.meta.pieceCount - 1);
    const again = await feed(r, blocksOf(r.meta).filter(([piece]) => piece === 1), 1);
    expect(again.get(1)).toBe(true);
    expect(r.storage.have.complete()).toBe(true);
    expect((await filesOf(r)).equals(ALL)).toBe(true);
    await close(r);
  });

  it('a failed write rejects the piece rather than counting it', async () => {
    const r = await rig('closed', 'adaptive');
    const blocks = blocksOf(r.meta).filter(([piece]) => piece === 0);
    await r.storage.close(); // every write now fails
    await expect(feed(r, blocks, 2)).rejects.toThrow(/storage is closed/);
    expect(r.storage.have.get(0)).toBe(false);
    await r.pool.close();
  });

  it('any order and any reads give byte-identical files (property)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom<IoMode>('adaptive', 'async'),
        async (keys, perRead, mode) => {
          const r = await rig(`p${run++}`, mode);
          const blocks = blocksOf(r.meta);
          // A random order of the blocks: sort by the random keys.
          const order = blocks.map((b, i) => [keys[i % keys.length]! + i / 100, b] as const).sort((x, y) => x[0] - y[0]).map((x) => x[1]);
          const verdicts = await feed(r, order, perRead);
          expect([...verdicts.values()].every((ok) => ok)).toBe(true);
          expect((await filesOf(r)).equals(ALL)).toBe(true);
          await close(r);
        },
      ),
      { numRuns: 25 },
    );
  });
});
