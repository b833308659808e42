// Interop with aria2 (Debian's package) over 127.0.0.1 through our tracker: it downloads from our
// seeder, and we download from it. Real processes; the files must be byte-identical.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { readMetainfo } from '../../datapath/metainfo/metainfo.js';
import { join } from 'node:path';
import { startTracker, type TrackerServer } from '../../tracker/server.js';
import { ARIA2_FLAGS, ccp, freePort, killAll, makeTorrent, run, tempDir, waitFor, withTimeout } from '../engine/helpers.js';

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

describe('aria2 interop', () => {
  it('aria2 downloads from our seeder, byte-identical', async () => {
    const t = tempDir('a2dl');
    dirs.push(t.cleanup);
    const src = join(t.dir, 'src');
    const dst = join(t.dir, 'dst');
    mkdirSync(src);
    mkdirSync(dst);
    const { data, torrent } = await makeTorrent(src, 'payload.bin', 6 * 1024 * 1024 + 12345, [tracker.httpUrl]);
    const seedPort = await freePort();
    const seeder = ccp(['seed', torrent, '--data', src, '--host', '127.0.0.1', '--port', String(seedPort), '-v']);
    await waitFor(() => seeder.out().includes('seeding 1 torrent'), 20_000, 'our seeder to start');
    const aria = run('aria2c', [...ARIA2_FLAGS, '--seed-time=0', `--listen-port=${await freePort()}`, '-d', dst, torrent]);
    const code = await withTimeout(aria.exited, 45_000, 'aria2 download');
    expect(code, aria.out() + aria.err()).toBe(0);
    expect(readFileSync(join(dst, 'payload.bin')).equals(readFileSync(data))).toBe(true);
    // The seeder exits cleanly on SIGTERM after telling the tracker.
    seeder.child.kill('SIGTERM');
    expect(await withTimeout(seeder.exited, 10_000, 'seeder exit')).toBe(0);
  });

  it('we download from an aria2 seeder, byte-identical', async () => {
    const t = tempDir('a2seed');
    dirs.push(t.cleanup);
    const src = join(t.dir, 'src');
    const dst = join(t.dir, 'dst');
    mkdirSync(src);
    mkdirSync(dst);
    const { data, torrent } = await makeTorrent(src, 'payload.bin', 6 * 1024 * 1024 + 777, [tracker.httpUrl]);
    const aria = run('aria2c', [...ARIA2_FLAGS, '-V', '--check-integrity=true', `--listen-port=${await freePort()}`, '-d', src, torrent]);
    // aria2 hashes its copy, then announces itself as a seeder.
    const hash = (await readMetainfo(torrent)).infoHashHex;
    await waitFor(() => (tracker.swarms().get(hash)?.seeders ?? 0) > 0 || aria.child.exitCode !== null, 20_000, 'aria2 to announce as a seeder');
    const leecher = ccp(['download', torrent, '-o', dst, '--host', '127.0.0.1', '--port', String(await freePort()), '--json']);
    const code = await withTimeout(leecher.exited, 45_000, 'our download');
    expect(code, leecher.out() + leecher.err()).toBe(0);
    expect(readFileSync(join(dst, 'payload.bin')).equals(readFileSync(data))).toBe(true);
    expect(leecher.out()).toContain('"event":"complete"');
  });
});
