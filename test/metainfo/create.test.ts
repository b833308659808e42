import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { autoPieceLength, createTorrent, type CreateTorrentOptions } from '../../datapath/metainfo/create.js';
import { MetainfoError, parseMetainfo } from '../../datapath/metainfo/metainfo.js';
import { Storage } from '../../datapath/storage/storage.js';
import { patternBytes } from './build-torrent.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccp-bt-create-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createTorrent', () => {
  it('picks powers of two aiming at 1000-2000 pieces within 16 KiB..16 MiB', () => {
    expect(autoPieceLength(1)).toBe(16384);
    for (const total of [40e6, 700e6, 4.7e9, 20e9]) {
      const pl = autoPieceLength(total);
      expect(pl & (pl - 1)).toBe(0);
      const pieces = Math.ceil(total / pl);
      expect(pieces).toBeGreaterThan(1000);
      expect(pieces).toBeLessThanOrEqual(2000);
    }
    expect(autoPieceLength(1e12)).toBe(16 * 1024 * 1024);
  });

  it('is deterministic, follows symlinks, skips symlink loops, and its torrent verifies its own data', async () => {
    const src = join(dir, 'src');
    await mkdir(join(src, 'b'), { recursive: true });
    await writeFile(join(src, 'b', 'one'), patternBytes(30000, 1));
    await writeFile(join(src, 'a'), patternBytes(20000, 2));
    await symlink(join(src, 'a'), join(src, 'link-to-a'));
    await symlink(src, join(src, 'b', 'loop'));
    const progress: number[] = [];
    const opts: CreateTorrentOptions = { path: src, trackers: [['http://127.0.0.1:1/a'], ['udp://127.0.0.1:2']], pieceLength: 16384, creationDate: null };
    const first = await createTorrent({ ...opts, onProgress: (done) => progress.push(done) });
    const second = await createTorrent(opts);
    expect(first.equals(second)).toBe(true);
    expect(progress.at(-1)).toBe(70000);
    const meta = parseMetainfo(first);
    expect(meta.files.map((f) => f.path.join('/'))).toEqual(['a', 'b/one', 'link-to-a']);
    expect(meta.announce).toEqual([['http://127.0.0.1:1/a'], ['udp://127.0.0.1:2']]);
    const storage = await Storage.open(meta, dir);
    expect((await storage.verifyExisting()).complete()).toBe(true);
    await storage.close();
  });

  it('refuses bad input with MetainfoError', async () => {
    await writeFile(join(dir, 'f'), 'data');
    await mkdir(join(dir, 'emptydir'));
    await writeFile(join(dir, 'zero'), '');
    const cases: [Parameters<typeof createTorrent>[0], RegExp][] = [
      [{ path: join(dir, 'nope'), trackers: [] }, /cannot read .*nope: ENOENT/],
      [{ path: join(dir, 'emptydir'), trackers: [] }, /holds no files/],
      [{ path: join(dir, 'zero'), trackers: [] }, /no data/],
      [{ path: join(dir, 'f'), trackers: [], pieceLength: 30000 }, /power of two/],
      [{ path: join(dir, 'f'), trackers: [], pieceLength: 1024 }, /power of two from/],
      [{ path: join(dir, 'f'), trackers: [], name: '..' }, /unusable torrent name/],
      [{ path: join(dir, 'f'), trackers: ['ftp://x'] }, /not an http/],
    ];
    for (const [opts, reason] of cases) {
      await expect(createTorrent(opts)).rejects.toThrow(MetainfoError);
      await expect(createTorrent(opts)).rejects.toThrow(reason);
    }
  });
});
