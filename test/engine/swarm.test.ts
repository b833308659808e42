// Our peers with each other, as real processes on 127.0.0.1: one seeder and several leechers finish
// through a tracker; a leecher killed halfway resumes from what it had verified and finishes.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTracker, type TrackerServer } from '../../tracker/server.js';
import { ccp, freePort, killAll, makeTorrent, tempDir, waitFor, withTimeout } from './helpers.js';

let tracker: TrackerServer;
const dirs: (() => void)[] = [];

beforeAll(async () => {
  tracker = await startTracker({ host: '127.0.0.1', intervalS: 2 });
});
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) d();
});
afterAll(async () => {
  await tracker.close();
});

interface JsonLine { event: string; percent?: number; haveBytes?: number; totalBytes?: number; message?: string }
const jsonLines = (out: string): JsonLine[] =>
  out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as JsonLine);

describe('ccp-bt swarm', () => {
  it('one seeder and three leechers all finish with identical files', async () => {
    const t = tempDir('swarm');
    dirs.push(t.cleanup);
    const src = join(t.dir, 'src');
    mkdirSync(src);
    const { data, torrent } = await makeTorrent(src, 'movie.bin', 5 * 1024 * 1024 + 999, [tracker.httpUrl], 64 * 1024);
    const seeder = ccp(['seed', torrent, '--data', src, '--host', '127.0.0.1', '--port', String(await freePort())]);
    await waitFor(() => seeder.out().includes('seeding 1 torrent'), 20_000, 'seeder start');
    const leechers = [];
    for (let i = 0; i < 3; i++) {
      const dst = join(t.dir, `l${i}`);
      mkdirSync(dst);
      leechers.push({ dst, p: ccp(['download', torrent, '-o', dst, '--host', '127.0.0.1', '--port', String(await freePort()), '--json']) });
    }
    const codes = await withTimeout(Promise.all(leechers.map((l) => l.p.exited)), 50_000, 'leechers');
    const want = readFileSync(data);
    leechers.forEach((l, i) => {
      expect(codes[i], l.p.out() + l.p.err()).toBe(0);
      expect(readFileSync(join(l.dst, 'movie.bin')).equals(want)).toBe(true);
      expect(jsonLines(l.p.out()).some((j) => j.event === 'complete')).toBe(true);
    });
  });

  it('a slot freed by a leecher that finished and left goes to a waiting leecher at once, not at the next rechoke', async () => {
    const t = tempDir('slots');
    dirs.push(t.cleanup);
    const src = join(t.dir, 'src');
    mkdirSync(src);
    const { data, torrent } = await makeTorrent(src, 'pack.bin', 3 * 1024 * 1024, [], 64 * 1024);
    const seedPort = await freePort();
    const seeder = ccp(['seed', torrent, '--data', src, '--host', '127.0.0.1', '--port', String(seedPort), '--no-announce']);
    await waitFor(() => seeder.out().includes('seeding 1 torrent'), 20_000, 'seeder start');
    // Six leechers that know only the seeder; it has 4 slots + 1 optimistic, so one of them waits.
    const leechers = [];
    for (let i = 0; i < 6; i++) {
      const dst = join(t.dir, `l${i}`);
      mkdirSync(dst);
      const p = ccp(['download', torrent, '-o', dst, '--peer', `127.0.0.1:${seedPort}`, '--host', '127.0.0.1', '--port', String(await freePort()), '--json']);
      const exitedAt = p.exited.then((code) => ({ code, atMs: Date.now() }));
      leechers.push({ dst, p, exitedAt });
    }
    const ends = await withTimeout(Promise.all(leechers.map((l) => l.exitedAt)), 50_000, 'leechers');
    const want = readFileSync(data);
    leechers.forEach((l, i) => {
      expect(ends[i]!.code, l.p.out() + l.p.err()).toBe(0);
      expect(readFileSync(join(l.dst, 'pack.bin')).equals(want)).toBe(true);
    });
    const times = ends.map((e) => e.atMs).sort((a, b) => a - b);
    // The rechoke comes every 10 s: the waiting leecher would idle up to that long after the others left.
    expect(times[5]! - times[4]!).toBeLessThan(4000);
  });

  it('a leecher killed halfway resumes from verified data and finishes', async () => {
    const t = tempDir('resume');
    dirs.push(t.cleanup);
    const src = join(t.dir, 'src');
    const dst = join(t.dir, 'dst');
    mkdirSync(src);
    mkdirSync(dst);
    const size = 4 * 1024 * 1024;
    const { data, torrent } = await makeTorrent(src, 'iso.bin', size, [], 64 * 1024);
    const seedPort = await freePort();
    const seeder = ccp(['seed', torrent, '--data', src, '--host', '127.0.0.1', '--port', String(seedPort), '--no-announce']);
    await waitFor(() => seeder.out().includes('seeding 1 torrent'), 20_000, 'seeder start');
    const peer = ['--peer', `127.0.0.1:${seedPort}`, '--host', '127.0.0.1', '--json'];
    // Slowed by a download cap so it can be killed in the middle.
    const first = ccp(['download', torrent, '-o', dst, '--max-down', '1M', '--port', String(await freePort()), ...peer]);
    await waitFor(() => jsonLines(first.out()).some((j) => (j.percent ?? 0) >= 30), 30_000, 'first run to reach 30%');
    first.child.kill('SIGKILL');
    await withTimeout(first.exited, 5000, 'kill');
    const partial = readFileSync(join(dst, 'iso.bin'));
    expect(partial.equals(readFileSync(data))).toBe(false);

    const second = ccp(['download', torrent, '-o', dst, '--port', String(await freePort()), ...peer]);
    expect(await withTimeout(second.exited, 30_000, 'second run'), second.out() + second.err()).toBe(0);
    const started = jsonLines(second.out()).find((j) => j.event === 'started');
    // It kept what it had verified (at least the 30% seen) instead of starting over.
    expect(started?.haveBytes ?? 0).toBeGreaterThanOrEqual(0.3 * size);
    expect(started?.haveBytes ?? size).toBeLessThan(size);
    expect(readFileSync(join(dst, 'iso.bin')).equals(readFileSync(data))).toBe(true);
  });

  it('download --seed keeps seeding after completing: a later leecher gets everything from it', async () => {
    const t = tempDir('reseed');
    dirs.push(t.cleanup);
    const src = join(t.dir, 'src');
    const mid = join(t.dir, 'mid');
    const dst = join(t.dir, 'dst');
    for (const d of [src, mid, dst]) mkdirSync(d);
    const { data, torrent } = await makeTorrent(src, 'r.bin', 2 * 1024 * 1024 + 5, [], 64 * 1024);
    const seedPort = await freePort();
    const seeder = ccp(['seed', torrent, '--data', src, '--host', '127.0.0.1', '--port', String(seedPort), '--no-announce']);
    await waitFor(() => seeder.out().includes('seeding 1 torrent'), 20_000, 'seeder start');
    const midPort = await freePort();
    const relay = ccp(['download', torrent, '-o', mid, '--seed', '--host', '127.0.0.1', '--port', String(midPort), '--peer', `127.0.0.1:${seedPort}`, '--no-announce', '--json']);
    await waitFor(() => jsonLines(relay.out()).some((j) => j.event === 'complete'), 30_000, 'relay to complete');
    seeder.child.kill('SIGKILL');
    await seeder.exited;
    expect(relay.child.exitCode).toBeNull(); // still running, seeding
    const last = ccp(['download', torrent, '-o', dst, '--host', '127.0.0.1', '--port', String(await freePort()), '--peer', `127.0.0.1:${midPort}`, '--no-announce']);
    expect(await withTimeout(last.exited, 30_000, 'last leecher'), last.err()).toBe(0);
    expect(readFileSync(join(dst, 'r.bin')).equals(readFileSync(data))).toBe(true);
    relay.child.kill('SIGTERM');
    expect(await withTimeout(relay.exited, 10_000, 'relay exit')).toBe(0);
  });
});
