// Piece reads and writes run on the loop while the page cache serves them quickly and move to the
// thread pool after slow ones; either way the bytes are the same.
import { mkdtemp, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseMetainfo } from '../../datapath/metainfo/metainfo.js';
import { FilePool } from '../../datapath/storage/file-pool.js';
import {
  ASYNC_HOLD_MS, LoopIoPolicy, READ_LIMITS, SLOW_READS_TO_MOVE, SLOW_WRITE_MS, SLOW_WRITES_TO_MOVE, STALLED_READ_MS,
  STALLED_WRITE_MS, STRIKE_WINDOW_MS, WRITE_LIMITS, processContextSwitches, slowReadMs, type ContextSwitches, type IoMode,
  type LoopIoLimits,
} from '../../datapath/storage/loop-io-policy.js';
import { Storage, StorageError } from '../../datapath/storage/storage.js';
import { multiFileTorrent, patternBytes } from '../metainfo/build-torrent.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccp-bt-loop-io-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const PL = 16384;

/** Two files, the second in a folder, pieces spanning the boundary; written and verified. */
async function packOnDisk(pool: FilePool, name: string): Promise<{ storage: Storage; all: Buffer }> {
  const files = [
    { path: ['a.bin'], data: patternBytes(PL + 700, 1) },
    { path: ['d', 'b.bin'], data: patternBytes(2 * PL - 300, 2) },
  ];
  const all = Buffer.concat(files.map((f) => f.data));
  const meta = parseMetainfo(multiFileTorrent('pack', files, PL));
  const storage = await Storage.open(meta, join(dir, name), { pool });
  for (let i = meta.pieceCount - 1; i >= 0; i--) {
    expect(await storage.writePiece(i, all.subarray(i * PL, Math.min(all.length, (i + 1) * PL)))).toBe(true);
  }
  return { storage, all };
}

/** A policy whose view of the process's context switches the test sets, and a way to run operations through it. */
function policyWith(limits: LoopIoLimits, mode?: IoMode): {
  p: LoopIoPolicy;
  /** One operation at `atMs` that took `tookMs`, during which the process blocked, was preempted, or just ran. */
  op(tookMs: number, atMs: number, bytes: number, meanwhile?: 'blocked' | 'preempted' | 'ran'): void;
} {
  const counts: ContextSwitches = { voluntary: 0, involuntary: 0 };
  const p = new LoopIoPolicy(limits, mode, () => ({ ...counts }));
  return {
    p,
    op(tookMs, atMs, bytes, meanwhile = 'blocked') {
      p.starting(atMs);
      if (meanwhile === 'blocked') counts.voluntary++;
      if (meanwhile === 'preempted') counts.involuntary++;
      p.record(tookMs, atMs, bytes);
    },
  };
}

describe('LoopIoPolicy for writes', () => {
  it('writes on the loop until writes stall, then in the thread pool for ASYNC_HOLD_MS', () => {
    const { p, op } = policyWith(WRITE_LIMITS);
    expect(p.onLoop(1000)).toBe(true);
    op(SLOW_WRITE_MS / 2, 1000, PL);
    expect(p.onLoop(1001)).toBe(true);
    // The first stall after a quiet spell is one strike: nothing was watching the process during it.
    op(STALLED_WRITE_MS, 2000, PL);
    expect([p.slowOps, p.moves, p.onLoop(2001)]).toEqual([1, 0, true]);
    // The next one is watched: the process blocked through it, so the disk is holding writes up.
    op(STALLED_WRITE_MS, 2100, PL);
    expect([p.slowOps, p.moves]).toEqual([2, 1]);
    expect(p.onLoop(2101)).toBe(false);
    expect(p.onLoop(2100 + ASYNC_HOLD_MS - 1)).toBe(false);
    expect(p.onLoop(2100 + ASYNC_HOLD_MS)).toBe(true);
  });

  it('a few slow writes far apart (a descheduled write) stay on the loop; SLOW_WRITES_TO_MOVE close together move', () => {
    const { p, op } = policyWith(WRITE_LIMITS);
    const slow = (SLOW_WRITE_MS + STALLED_WRITE_MS) / 2;
    for (let i = 0; i < 5; i++) op(slow, 1000 + i * STRIKE_WINDOW_MS, PL);
    expect(p.slowOps).toBe(5);
    expect(p.moves).toBe(0);
    const t = 1000 + 10 * STRIKE_WINDOW_MS;
    expect(p.onLoop(t)).toBe(true);
    for (let i = 0; i < SLOW_WRITES_TO_MOVE - 1; i++) op(slow, t + i, PL);
    expect(p.onLoop(t + 100)).toBe(true);
    op(slow, t + 200, PL);
    expect(p.moves).toBe(1);
    expect(p.onLoop(t + 201)).toBe(false);
  });

  it('slow or stalled writes while the process was preempted, not blocked, are not held against the disk', () => {
    const { p, op } = policyWith(WRITE_LIMITS);
    op(STALLED_WRITE_MS * 2, 1000, PL, 'preempted'); // unwatched: a strike
    for (let i = 1; i <= 50; i++) op(i % 2 ? STALLED_WRITE_MS * 2 : SLOW_WRITE_MS * 2, 1000 + i * 10, PL, 'preempted');
    expect([p.slowOps, p.preemptedOps, p.moves, p.onLoop(2000)]).toEqual([51, 50, 0, true]);
    // A slow write with no context switch at all (the kernel was busy for us) still counts.
    op(SLOW_WRITE_MS * 2, 2000, PL, 'ran');
    op(SLOW_WRITE_MS * 2, 2001, PL, 'ran');
    expect(p.moves).toBe(1);
  });

  it('watches context switches only for a strike window after a slow operation', () => {
    let reads = 0;
    const p = new LoopIoPolicy(WRITE_LIMITS, 'adaptive', () => {
      reads++;
      return { voluntary: 0, involuntary: 0 };
    });
    for (let i = 0; i < 100; i++) {
      p.starting(1000 + i);
      p.record(SLOW_WRITE_MS / 4, 1000 + i, PL);
    }
    expect(reads).toBe(0); // fast writes cost no getrusage
    p.starting(2000);
    p.record(SLOW_WRITE_MS * 2, 2000, PL);
    p.starting(2001);
    p.record(SLOW_WRITE_MS / 4, 2001, PL);
    expect(reads).toBe(1);
    p.starting(2000 + STRIKE_WINDOW_MS);
    p.record(SLOW_WRITE_MS / 4, 2000 + STRIKE_WINDOW_MS, PL);
    expect(reads).toBe(1);
  });

  it('the real process counters see a blocking sleep as voluntary switches', () => {
    const before = processContextSwitches();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    expect(processContextSwitches().voluntary).toBeGreaterThan(before.voluntary);
  });

  it("'async' never runs on the loop", () => {
    const p = new LoopIoPolicy(WRITE_LIMITS, 'async');
    expect(p.onLoop(0)).toBe(false);
    expect(p.onLoop(1e12)).toBe(false);
  });
});

describe('LoopIoPolicy for reads', () => {
  it('judges a read by its size: a page-cache copy is fast, one at disk speed is slow', () => {
    const piece = 256 * 1024;
    expect(slowReadMs(piece)).toBeGreaterThan(0.5);
    expect(slowReadMs(piece)).toBeLessThan(0.6);
    expect(slowReadMs(16 * 1024 * 1024)).toBeGreaterThan(slowReadMs(piece) * 5); // a 16 MiB piece takes longer anyway
    const { p, op } = policyWith(READ_LIMITS);
    op(0.05, 1000, piece); // from the page cache
    op(slowReadMs(16 << 20) * 0.9, 1001, 16 << 20); // a big piece, still at memory speed
    expect(p.slowOps).toBe(0);
    op(slowReadMs(piece) * 1.5, 1002, piece);
    expect(p.slowOps).toBe(1);
    expect(p.onLoop(1003)).toBe(true);
  });

  it('moves to the thread pool after SLOW_READS_TO_MOVE slow reads, or a watched stalled read, and comes back after the hold', () => {
    const piece = 256 * 1024;
    const { p, op } = policyWith(READ_LIMITS);
    for (let i = 0; i < SLOW_READS_TO_MOVE - 1; i++) op(slowReadMs(piece) + 0.5, 1000 + i, piece);
    expect(p.moves).toBe(0);
    op(slowReadMs(piece) + 0.5, 2000, piece);
    expect(p.moves).toBe(1);
    expect(p.onLoop(2000 + ASYNC_HOLD_MS - 1)).toBe(false);
    expect(p.onLoop(2000 + ASYNC_HOLD_MS)).toBe(true);
    const q = policyWith(READ_LIMITS);
    const told: number[][] = [];
    q.p.onMove = (tookMs, holdMs) => told.push([tookMs, holdMs]);
    q.op(slowReadMs(piece) + 0.5, 4000, piece);
    q.op(STALLED_READ_MS, 5000, piece);
    expect(q.p.moves).toBe(1);
    expect(told).toEqual([[STALLED_READ_MS, ASYNC_HOLD_MS]]);
    expect(q.p.onLoop(5001)).toBe(false);
  });
});

describe('Storage under both I/O modes', () => {
  it('writes and reads the same bytes across file boundaries', async () => {
    for (const mode of ['adaptive', 'async'] as const) {
      const pool = new FilePool(4, mode);
      const { storage, all } = await packOnDisk(pool, mode);
      const out = join(dir, mode);
      expect(Buffer.concat([await readFile(join(out, 'pack', 'a.bin')), await readFile(join(out, 'pack', 'd', 'b.bin'))]).equals(all)).toBe(true);
      // Twice: the first read opens the files (in the thread pool), the second finds them open.
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < storage.pieceCount; i++) {
          const want = all.subarray(i * PL, Math.min(all.length, (i + 1) * PL));
          expect((await storage.readPiece(i)).equals(want)).toBe(true);
        }
      }
      expect(pool.reads.moves).toBe(0);
      await storage.close();
      await pool.close();
    }
  });

  it("an adaptive pool reads open files on the loop (the bytes are there when readInto returns); 'async' never does", async () => {
    for (const mode of ['adaptive', 'async'] as const) {
      const pool = new FilePool(4, mode);
      const { storage, all } = await packOnDisk(pool, mode);
      await storage.readPiece(1); // opens both files for reading
      const before = pool.reads.loopOps;
      const out = Buffer.alloc(PL);
      const done = storage.readInto(1, 0, out);
      const want = all.subarray(PL, 2 * PL);
      // (In 'async' mode a pool thread may fill `out` at any moment, so only the adaptive case is checked here.)
      if (mode === 'adaptive') expect(out.equals(want)).toBe(true);
      await done;
      expect(out.equals(want)).toBe(true);
      expect(pool.reads.loopOps - before).toBe(mode === 'adaptive' ? 2 : 0); // the piece spans both files
      await storage.close();
      await pool.close();
    }
  });

  it('the resume check reads in the thread pool and lets the loop run between pieces, even with its files open', async () => {
    const pool = new FilePool(4);
    const { storage } = await packOnDisk(pool, 'check');
    for (let round = 0; round < 2; round++) { // the second round finds the files open
      let checking = true;
      let ranDuringCheck = 0;
      const beat = (): void => {
        if (!checking) return;
        ranDuringCheck++;
        setImmediate(beat);
      };
      setImmediate(beat);
      const loopOpsBefore = pool.reads.loopOps;
      const have = await storage.verifyExisting();
      checking = false;
      expect(have.count()).toBe(storage.pieceCount);
      expect(pool.reads.loopOps).toBe(loopOpsBefore);
      expect(ranDuringCheck).toBeGreaterThan(0);
    }
    await storage.close();
    await pool.close();
  });

  it('a file shrunk under a verified piece fails the read on the loop with a StorageError and nothing else', async () => {
    const pool = new FilePool(4);
    const { storage } = await packOnDisk(pool, 'shrunk');
    await storage.readPiece(1); // files open: the next read runs on the loop
    await truncate(join(dir, 'shrunk', 'pack', 'd', 'b.bin'), 100);
    await expect(storage.readPiece(1)).rejects.toThrow(StorageError);
    await expect(storage.readPiece(1)).rejects.toThrow(/shorter than expected/);
    expect((await storage.readBlock(0, 0, 100)).equals(patternBytes(100, 1))).toBe(true); // the rest still reads
    await storage.close();
    await pool.close();
  });
});
