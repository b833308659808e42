// The Session as the world and seeders use it, in process over real sockets on 127.0.0.1: many
// torrents on one listening port routed by info-hash, and the global upload/download caps.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readMetainfo, type Metainfo } from '../../datapath/metainfo/metainfo.js';
import { ASYNC_HOLD_MS, STALLED_READ_MS, STALLED_WRITE_MS } from '../../datapath/storage/loop-io-policy.js';
import { Session } from '../../datapath/swarm/session.js';
import type { Torrent } from '../../datapath/swarm/torrent.js';
import { makeTorrent, tempDir } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const completed = (t: Torrent): Promise<void> => new Promise((res) => (t.complete ? res() : t.once('complete', () => res())));

async function sessions(opts: { up?: number; down?: number } = {}): Promise<{ seeder: Session; leecher: Session; dir: string }> {
  const t = tempDir('session');
  cleanups.push(t.cleanup);
  const seeder = new Session({ host: '127.0.0.1', maxUpBps: opts.up ?? 0 });
  const leecher = new Session({ host: '127.0.0.1', maxDownBps: opts.down ?? 0 });
  cleanups.push(() => seeder.close(), () => leecher.close());
  await seeder.listen();
  await leecher.listen();
  return { seeder, leecher, dir: t.dir };
}

describe('session', () => {
  it('bans a liar by peer id, and off loopback by address too (it may come back with a new id)', async () => {
    const s = new Session({ host: '127.0.0.1' });
    try {
      for (let i = 0; i < 3; i++) s.blame('10.1.2.3|aa');
      expect(s.isBanned('10.1.2.3|aa')).toBe(true);
      expect(s.isBanned('10.1.2.3|bb')).toBe(true);
      expect(s.isBanned('10.1.2.4|aa')).toBe(false);
      s.blame('10.9.9.9|cc');
      expect(s.isBanned('10.9.9.9|cc')).toBe(false); // one strike is not a ban
      s.ban('2001:db8::7|dd');
      expect(s.isBanned('2001:db8::7|ee')).toBe(true);
      // A local swarm's peers share 127.0.0.1: only the liar's peer id is banned there.
      s.ban('127.0.0.1|ff');
      expect(s.isBanned('127.0.0.1|ff')).toBe(true);
      expect(s.isBanned('127.0.0.1|00')).toBe(false);
    } finally {
      await s.close();
    }
  });

  it('warns when the disk makes piece reads or writes move to the thread pool', async () => {
    const s = new Session({ host: '127.0.0.1' });
    try {
      const warnings: string[] = [];
      s.on('warning', (m: string) => warnings.push(m));
      // A first stall only arms the watch on context switches; a second, watched, moves. Each stands for
      // an operation that blocked the process: a short sleep is a voluntary context switch, so the policy
      // (reading the real counters) never takes it for a preemption by a busy machine.
      const blockBriefly = (): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
      for (const [policy, ms, bytes] of [[s.filePool.reads, STALLED_READ_MS, 256 * 1024], [s.filePool.writes, STALLED_WRITE_MS, 16 * 1024]] as const) {
        for (let i = 0; i < 2; i++) {
          policy.starting(Date.now());
          blockBriefly();
          policy.record(ms, Date.now(), bytes);
        }
      }
      expect(warnings).toEqual([
        `disk: a piece read took ${STALLED_READ_MS.toFixed(1)} ms; reads run in the thread pool for the next ${ASYNC_HOLD_MS / 1000} s`,
        `disk: a piece write took ${STALLED_WRITE_MS.toFixed(1)} ms; writes run in the thread pool for the next ${ASYNC_HOLD_MS / 1000} s`,
      ]);
      expect(s.filePool.reads.onLoop(Date.now())).toBe(false);
    } finally {
      await s.close();
    }
  });

  it('seeds many torrents on one port; a leecher fetches them all at once', async () => {
    const { seeder, leecher, dir } = await sessions();
    const src = join(dir, 'src');
    mkdirSync(src);
    const metas: Metainfo[] = [];
    for (let i = 0; i < 12; i++) {
      const { torrent } = await makeTorrent(src, `item${i}.bin`, 100_000 + i * 7_777, [], 16 * 1024);
      metas.push(await readMetainfo(torrent));
    }
    for (const m of metas) await seeder.addTorrent(m, src, { announce: false });
    await expect(seeder.addTorrent(metas[0]!, src, { announce: false })).rejects.toThrow(/already added/);
    const dst = join(dir, 'dst');
    const ts = await Promise.all(metas.map((m) => leecher.addTorrent(m, dst, { announce: false, peers: [{ host: '127.0.0.1', port: seeder.port }] })));
    await Promise.all(ts.map(completed));
    for (let i = 0; i < metas.length; i++) {
      expect(readFileSync(join(dst, `item${i}.bin`)).equals(readFileSync(join(src, `item${i}.bin`)))).toBe(true);
    }
    // Removing a torrent while others run leaves them alone.
    await seeder.removeTorrent(metas[0]!.infoHashHex);
    expect(seeder.torrents.size).toBe(11);
  });

  it('holds the global upload cap and the global download cap', async () => {
    for (const caps of [{ up: 600_000 }, { down: 600_000 }]) {
      const { seeder, leecher, dir } = await sessions(caps);
      const { torrent } = await makeTorrent(dir, 'big.bin', 4 * 1024 * 1024, [], 64 * 1024);
      const meta = await readMetainfo(torrent);
      const st = await seeder.addTorrent(meta, dir, { announce: false });
      const lt = await leecher.addTorrent(meta, join(dir, 'dst'), { announce: false, peers: [{ host: '127.0.0.1', port: seeder.port }] });
      // Measure over a window after the start (the buckets begin full: one burst may go at once).
      await new Promise((r) => setTimeout(r, 500));
      const b0 = st.uploaded;
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, 1500));
      const rate = ((st.uploaded - b0) * 1000) / (performance.now() - t0);
      expect(rate, JSON.stringify(caps)).toBeLessThan(600_000 * 1.15);
      expect(rate, JSON.stringify(caps)).toBeGreaterThan(600_000 * 0.5);
      expect(lt.complete).toBe(false);
      leecher.setLimits({ maxDownBps: 0 });
      seeder.setLimits({ maxUpBps: 0 });
      await completed(lt);
      await seeder.close();
      await leecher.close();
    }
  });
});
