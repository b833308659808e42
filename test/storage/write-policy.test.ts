// Piece writes run on the loop while the disk takes them quickly and move to the thread pool after a
// slow one; either way the bytes on disk are the same.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseMetainfo } from '../../datapath/metainfo/metainfo.js';
import { FilePool } from '../../datapath/storage/file-pool.js';
import { Storage } from '../../datapath/storage/storage.js';
import { ASYNC_HOLD_MS, SLOW_WRITE_MS, SLOW_WRITES_TO_MOVE, STALLED_WRITE_MS, STRIKE_WINDOW_MS, WritePolicy } from '../../datapath/storage/write-policy.js';
import { multiFileTorrent, patternBytes } from '../metainfo/build-torrent.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccp-bt-writes-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('WritePolicy', () => {
  it('writes on the loop until writes stall, then in the thread pool for ASYNC_HOLD_MS', () => {
    const p = new WritePolicy();
    expect(p.onLoop(1000)).toBe(true);
    p.record(SLOW_WRITE_MS / 2, 1000);
    expect(p.onLoop(1001)).toBe(true);
    // A stall as long as STALLED_WRITE_MS moves at once.
    p.record(STALLED_WRITE_MS, 2000);
    expect(p.slowWrites).toBe(1);
    expect(p.moves).toBe(1);
    expect(p.onLoop(2001)).toBe(false);
    expect(p.onLoop(2000 + ASYNC_HOLD_MS - 1)).toBe(false);
    expect(p.onLoop(2000 + ASYNC_HOLD_MS)).toBe(true);
  });

  it('a few slow writes far apart (a descheduled write) stay on the loop; SLOW_WRITES_TO_MOVE close together move', () => {
    const p = new WritePolicy();
    const slow = (SLOW_WRITE_MS + STALLED_WRITE_MS) / 2;
    for (let i = 0; i < 5; i++) p.record(slow, 1000 + i * STRIKE_WINDOW_MS);
    expect(p.slowWrites).toBe(5);
    expect(p.moves).toBe(0);
    const t = 1000 + 10 * STRIKE_WINDOW_MS;
    expect(p.onLoop(t)).toBe(true);
    for (let i = 0; i < SLOW_WRITES_TO_MOVE - 1; i++) p.record(slow, t + i);
    expect(p.onLoop(t + 100)).toBe(true);
    p.record(slow, t + 200);
    expect(p.moves).toBe(1);
    expect(p.onLoop(t + 201)).toBe(false);
  });

  it("'async' never writes on the loop", () => {
    const p = new WritePolicy('async');
    expect(p.onLoop(0)).toBe(false);
    expect(p.onLoop(1e12)).toBe(false);
  });

  it('both modes write the same bytes across file boundaries', async () => {
    const PL = 16384;
    const files = [
      { path: ['a.bin'], data: patternBytes(PL + 700, 1) },
      { path: ['d', 'b.bin'], data: patternBytes(2 * PL - 300, 2) },
    ];
    const all = Buffer.concat(files.map((f) => f.data));
    const meta = parseMetainfo(multiFileTorrent('pack', files, PL));
    for (const mode of ['adaptive', 'async'] as const) {
      const pool = new FilePool(4, mode);
      const out = join(dir, mode);
      const s = await Storage.open(meta, out, { pool });
      for (let i = meta.pieceCount - 1; i >= 0; i--) {
        expect(await s.writePiece(i, all.subarray(i * PL, Math.min(all.length, (i + 1) * PL)))).toBe(true);
      }
      await s.close();
      await pool.close();
      expect(Buffer.concat([await readFile(join(out, 'pack', 'a.bin')), await readFile(join(out, 'pack', 'd', 'b.bin'))]).equals(all)).toBe(true);
    }
  });
});
