// Real clients through `ccp-bt shape`, all on 127.0.0.1: qBittorrent-nox downloading through the SOCKS5
// listener from a ccp-bt seeder, and aria2 seeding behind a forward port to a ccp-bt leecher. Transfers
// must complete byte-identical while the per-flow rate set by an agent (`--alg fixed`) holds.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ccp, freePort, hasCommand, killAll, makeTorrent, run, startQbittorrent, startShape, tempDir, waitUntil, ARIA2_FLAGS, type Proc } from './real-clients.js';

const cleanups: (() => void)[] = [];
afterEach(async () => {
  await killAll();
  while (cleanups.length) cleanups.pop()!();
});

interface StatsSample {
  tMs: number;
  up: number;
  down: number;
}

/** The proxy's `--stats-interval` lines: cumulative payload bytes with timestamps. */
function statsOf(proc: Proc): StatsSample[] {
  return [...proc.err().matchAll(/t_ms=(\d+) payload_up=(\d+) payload_down=(\d+)/g)].map((m) => ({ tMs: Number(m[1]), up: Number(m[2]), down: Number(m[3]) }));
}

/** Rate over the samples strictly inside the transfer (first and last partial intervals left out). */
function steadyRate(samples: StatsSample[], pick: (s: StatsSample) => number, total: number): number {
  const inside = samples.filter((s) => pick(s) > 0 && pick(s) < total);
  if (inside.length < 3) throw new Error(`too few stats samples inside the transfer: ${inside.length}`);
  const a = inside[0]!;
  const b = inside[inside.length - 1]!;
  return ((pick(b) - pick(a)) * 1000) / (b.tMs - a.tMs);
}

const SIZE = 3 * 1024 * 1024;
const RATE = 400_000;

describe.runIf(hasCommand('qbittorrent-nox'))('qBittorrent-nox through the SOCKS5 listener', () => {
  it('downloads from a ccp-bt seeder byte-identical, at the per-flow rate an agent sets', async () => {
    const t = tempDir('shape-qbt');
    cleanups.push(t.cleanup);
    const { data, torrent, infoHash } = await makeTorrent(t.dir, 'payload.bin', SIZE);
    const seedPort = await freePort();
    const seeder = ccp(['seed', torrent, '--data', t.dir, '--host', '127.0.0.1', '--port', String(seedPort), '--no-announce']);
    // The proxy carries qBittorrent's download: the agent (`fixed`, down=) caps it per flow with RateIn;
    // no static --down-per-peer, so the rate below is the agent's.
    const shape = await startShape(['--listen', '127.0.0.1:0', '--stats-interval', '0.5', '--alg', 'fixed', '--set', `down=${RATE}`]);
    const qbt = await startQbittorrent(join(t.dir, 'qbt'), { host: '127.0.0.1', port: shape.socksPort! });
    const save = join(t.dir, 'qbt-download');
    const add = await qbt.api('/torrents/add', { torrents: new Blob([readFileSync(torrent)]), savepath: save, paused: 'false' });
    expect(add.ok).toBe(true);
    await waitUntil(async () => (await qbt.torrentInfo(infoHash)) !== null, 20_000, 'torrent added');
    const peers = await qbt.api('/torrents/addPeers', { hashes: infoHash, peers: `127.0.0.1:${seedPort}` });
    expect(peers.ok).toBe(true);
    await waitUntil(async () => {
      const info = await qbt.torrentInfo(infoHash);
      if (seeder.child.exitCode !== null) throw new Error(`seeder exited: ${seeder.err()}`);
      return info !== null && info.progress >= 1;
    }, 60_000, 'qBittorrent download complete');
    expect(readFileSync(join(save, 'payload.bin')).equals(readFileSync(data))).toBe(true);
    // The proxy read the BitTorrent stream (not an opaque tunnel) and held the rate.
    expect(shape.proc.err()).toContain(`info-hash ${infoHash}`);
    const rate = steadyRate(statsOf(shape.proc), (s) => s.down, SIZE);
    expect(Math.abs(rate / RATE - 1)).toBeLessThan(0.05);
  }, 120_000);
});

describe.runIf(hasCommand('aria2c'))('aria2 seeding behind a forward port', () => {
  it('serves a ccp-bt leecher byte-identical, at the per-flow upload Rate set by an agent', async () => {
    const t = tempDir('shape-aria2');
    cleanups.push(t.cleanup);
    const { data, torrent, infoHash } = await makeTorrent(t.dir, 'payload.bin', SIZE);
    const ariaPort = await freePort();
    run('aria2c', [...ARIA2_FLAGS, `--dir=${t.dir}`, `--listen-port=${ariaPort}`, '--seed-ratio=0.0', '--bt-seed-unverified=false', torrent]);
    const fwdPort = await freePort();
    const shape = await startShape(['--no-socks', '--listen', '127.0.0.1:0', '--forward', `${fwdPort}:127.0.0.1:${ariaPort}`, '--stats-interval', '0.5', '--alg', 'fixed', '--set', `rate=${RATE}`]);
    expect(shape.forwardPorts).toEqual([fwdPort]);
    // aria2 checks its data before it serves: give it a moment, the leecher retries anyway.
    const out = join(t.dir, 'leech');
    const leecher = ccp(['download', torrent, '-o', out, '--peer', `127.0.0.1:${fwdPort}`, '--no-announce', '--host', '127.0.0.1', '--port', String(await freePort()), '--json']);
    const code = await Promise.race([leecher.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 90_000))]);
    expect(code, `leecher: ${leecher.err()}`).toBe(0);
    expect(readFileSync(join(out, 'payload.bin')).equals(readFileSync(data))).toBe(true);
    expect(shape.proc.err()).toContain(`info-hash ${infoHash}`);
    const rate = steadyRate(statsOf(shape.proc), (s) => s.up, SIZE);
    expect(Math.abs(rate / RATE - 1)).toBeLessThan(0.05);
  }, 120_000);
});
