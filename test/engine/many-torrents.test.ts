// Many torrents in one process: `ccp-bt seed DIR` with a few hundred torrents checks them in its
// bounded queue, announces every one (spread out) to our UDP tracker and serves any of them; and the
// Session API adds and removes torrents while it runs, including ones still waiting for their check.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import net from 'node:net';
import { createTorrent } from '../../datapath/metainfo/create.js';
import { parseMetainfo, type Metainfo } from '../../datapath/metainfo/metainfo.js';
import { Session } from '../../datapath/swarm/session.js';
import type { Torrent } from '../../datapath/swarm/torrent.js';
import { encodeHandshake } from '../../datapath/wire/handshake.js';
import { startTracker, type TrackerServer } from '../../tracker/server.js';
import { ccp, freePort, killAll, tempDir, waitFor, withTimeout } from './helpers.js';

const COUNT = 300;
const completed = (t: Torrent): Promise<void> => new Promise((res) => (t.complete ? res() : t.once('complete', () => res())));

let root: { dir: string; cleanup: () => void };
let tracker: TrackerServer;
let metas: Metainfo[] = [];
const announced = new Set<string>();
const cleanups: (() => Promise<void> | void)[] = [];

/** COUNT small single-file torrents (1–3 pieces of 16 KiB) in root/seed, their data in root/data. */
beforeAll(async () => {
  root = tempDir('many');
  tracker = await startTracker({ intervalS: 600, onAnnounce: (a) => announced.add(a.infoHashHex) });
  const data = join(root.dir, 'data');
  const seed = join(root.dir, 'seed');
  mkdirSync(data);
  mkdirSync(seed);
  for (let i = 0; i < COUNT; i++) {
    const name = `item${String(i).padStart(4, '0')}.bin`;
    writeFileSync(join(data, name), randomBytes(10_000 + ((i * 7919) % 30_000)));
    const torrent = await createTorrent({ path: join(data, name), trackers: [[tracker.udpUrl]], pieceLength: 16 * 1024, creationDate: null });
    writeFileSync(join(seed, `${name}.torrent`), torrent);
    metas.push(parseMetainfo(torrent));
  }
}, 60_000);

afterEach(async () => {
  await killAll();
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(async () => {
  await tracker?.close();
  root?.cleanup();
  metas = [];
});

async function leecherSession(announceSpacingMs = 0): Promise<{ session: Session; dst: string }> {
  const session = new Session({ host: '127.0.0.1', announceSpacingMs });
  cleanups.push(() => session.close());
  await session.listen();
  const dst = join(root.dir, `dst-${randomBytes(4).toString('hex')}`);
  return { session, dst };
}

function sameFile(meta: Metainfo, dst: string): boolean {
  return readFileSync(join(dst, meta.name)).equals(readFileSync(join(root.dir, 'data', meta.name)));
}

/** Sends a handshake for `infoHash`; resolves true if the peer answers with one, false if it hangs up. */
function handshakeAnswered(port: number, infoHash: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = 0;
    const timer = setTimeout(() => finish(false), 5000);
    const finish = (v: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    s.on('connect', () => s.write(encodeHandshake(infoHash, randomBytes(20))));
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= 68) finish(true);
    });
    s.on('close', () => finish(got >= 68));
    s.on('error', () => finish(false));
  });
}

describe('many torrents in one process', () => {
  it(`ccp-bt seed DIR with ${COUNT} torrents: checks all, announces all to the tracker, serves any of them`, async () => {
    const port = await freePort();
    const seeder = ccp(['seed', join(root.dir, 'seed'), '--data', join(root.dir, 'data'), '--host', '127.0.0.1', '--port', String(port), '--announce-spacing', '5']);
    await waitFor(() => seeder.out().includes(`seeding ${COUNT} torrent(s)`), 25_000, 'all torrents checked');
    // Progress for the whole set on stderr, ending at M of M.
    expect(seeder.err()).toMatch(new RegExp(`checked ${COUNT} of ${COUNT} torrent\\(s\\), ${COUNT} seeding`));
    // Every torrent announced (spread over ~COUNT × 5 ms) to the one tracker.
    await waitFor(() => metas.every((m) => announced.has(m.infoHashHex)), 15_000, 'every torrent announced');
    // A leecher finds the seeder through the tracker for 3 random torrents and downloads them.
    const { session, dst } = await leecherSession();
    const picks = [...new Set(Array.from({ length: 3 }, () => metas[Math.floor(Math.random() * COUNT)]!))];
    const ts = await Promise.all(picks.map((m) => session.addTorrent(m, dst)));
    await withTimeout(Promise.all(ts.map(completed)), 15_000, 'downloads');
    for (const m of picks) expect(sameFile(m, dst), m.name).toBe(true);
    expect(seeder.child.exitCode).toBeNull();
  }, 60_000);

  it('adds and removes torrents while running, including torrents still waiting for their check', async () => {
    const dataDir = join(root.dir, 'data');
    const seeder = new Session({ host: '127.0.0.1', checkConcurrency: 2, announceSpacingMs: 0 });
    cleanups.push(() => seeder.close());
    await seeder.listen();
    const some = metas.slice(0, 120);
    const adds = some.map((m) => seeder.addTorrent(m, dataDir, { announce: false }).then(
      (t) => ({ ok: true as const, t }),
      (err: Error) => ({ ok: false as const, err }),
    ));
    // Checks run two at a time: most are still queued now.
    const early = seeder.checkStatus();
    expect(early.checking).toBeLessThanOrEqual(2);
    expect(early.queued).toBeGreaterThan(50);
    await expect(seeder.addTorrent(some[5]!, dataDir, { announce: false })).rejects.toThrow(/already added/);
    // Remove ten still waiting: their addTorrent rejects, the others are not affected.
    const removed = some.slice(100, 110);
    await Promise.all(removed.map((m) => seeder.removeTorrent(m.infoHashHex)));
    const results = await withTimeout(Promise.all(adds), 20_000, 'all checks');
    results.slice(100, 110).forEach((r) => {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.err.message).toMatch(/removed before its check/);
    });
    expect(results.filter((r) => r.ok)).toHaveLength(110);
    expect(seeder.torrents.size).toBe(110);
    expect(seeder.checkStatus()).toMatchObject({ queued: 0, checking: 0, checked: 110, failed: 10 });
    for (const m of removed) expect(seeder.torrents.has(m.infoHashHex)).toBe(false);

    // A removed torrent is refused at the handshake; one still added is served.
    expect(await handshakeAnswered(seeder.port, removed[0]!.infoHash)).toBe(false);
    expect(await handshakeAnswered(seeder.port, some[0]!.infoHash)).toBe(true);

    // Remove a serving torrent, add back a removed one: both take effect live and it downloads.
    await seeder.removeTorrent(some[0]!.infoHashHex);
    expect(await handshakeAnswered(seeder.port, some[0]!.infoHash)).toBe(false);
    const readded = await seeder.addTorrent(removed[0]!, dataDir, { announce: false });
    expect(readded.complete).toBe(true);
    const { session, dst } = await leecherSession();
    const peers = [{ host: '127.0.0.1', port: seeder.port }];
    const got = await Promise.all([removed[0]!, some[1]!].map((m) => session.addTorrent(m, dst, { announce: false, peers })));
    await withTimeout(Promise.all(got.map(completed)), 15_000, 'downloads from the live-changed seeder');
    expect(sameFile(removed[0]!, dst)).toBe(true);
    expect(sameFile(some[1]!, dst)).toBe(true);
  }, 40_000);
});
