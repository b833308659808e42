// Our metainfo against real tools: mktorrent makes torrents, aria2 reads ours and checks our data.
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeBencode, isDict } from '../../datapath/bencode.js';
import { parseMetainfo, readMetainfo } from '../../datapath/metainfo/metainfo.js';
import { patternBytes } from './build-torrent.js';
import { killAll, runProcess } from './run-process.js';

const CLI = resolve(import.meta.dirname, '../../bin/ccp-bt.cjs');
const TRACKER = 'http://127.0.0.1:1/announce';
const ARIA_QUIET = ['--enable-dht=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--disable-ipv6=true', '--summary-interval=0', '--console-log-level=warn'];
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ccp-bt-interop-'));
  // A folder whose piece boundaries fall inside files, with nested, hidden, upper-case and empty files.
  const src = join(work, 'src', 'album');
  await mkdir(join(src, 'disc 1', 'deep'), { recursive: true });
  await mkdir(join(src, 'B'), { recursive: true });
  await writeFile(join(src, 'disc 1', 'track.bin'), patternBytes(70_001, 1));
  await writeFile(join(src, 'disc 1', 'deep', 'z.bin'), patternBytes(33_333, 2));
  await writeFile(join(src, 'B', 'x'), patternBytes(5, 3));
  await writeFile(join(src, '.hidden'), patternBytes(17, 4));
  await writeFile(join(src, 'empty'), '');
  await writeFile(join(src, 'Zed-é.txt'), patternBytes(40_000, 5));
  await writeFile(join(work, 'src', 'single.iso'), patternBytes(123_457, 6));
});
afterEach(() => killAll());
afterAll(async () => {
  killAll();
  await rm(work, { recursive: true, force: true });
});

async function ariaInfoHash(torrent: string): Promise<string> {
  const r = await runProcess('aria2c', ['-S', torrent], { timeoutMs: 15_000 });
  expect(r.code, r.stderr).toBe(0);
  const m = /Info Hash:\s*([0-9a-f]{40})/.exec(r.stdout);
  expect(m, r.stdout).not.toBeNull();
  return m![1]!;
}

async function mktorrent(target: string, out: string, args: string[]): Promise<void> {
  const r = await runProcess('mktorrent', [...args, '-o', out, target], { timeoutMs: 30_000 });
  expect(r.code, r.stderr + r.stdout).toBe(0);
}

async function ccpCreate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await runProcess(process.execPath, [CLI, 'create', ...args], { timeoutMs: 30_000 });
  expect(r.timedOut).toBe(false);
  return r;
}

describe('interop with mktorrent and aria2', () => {
  it('parses mktorrent torrents with the info-hash aria2 prints', async () => {
    const multi = join(work, 'mk-multi.torrent');
    await mktorrent(join(work, 'src', 'album'), multi, ['-l', '15', '-a', TRACKER, '-a', 'udp://127.0.0.1:2/announce,http://127.0.0.1:3/a', '-p', '-c', 'hello']);
    const meta = await readMetainfo(multi);
    expect(meta.infoHashHex).toBe(await ariaInfoHash(multi));
    expect(meta.multiFile).toBe(true);
    expect(meta.private).toBe(true);
    expect(meta.comment).toBe('hello');
    expect(meta.announce).toEqual([[TRACKER], ['udp://127.0.0.1:2/announce', 'http://127.0.0.1:3/a']]);
    expect(meta.files.map((f) => f.path.join('/'))).toEqual(['.hidden', 'B/x', 'Zed-é.txt', 'disc 1/deep/z.bin', 'disc 1/track.bin', 'empty']);

    const single = join(work, 'mk-single.torrent');
    await mktorrent(join(work, 'src', 'single.iso'), single, ['-l', '15', '-a', TRACKER, '-n', 'renamed.iso']);
    const one = await readMetainfo(single);
    expect(one.infoHashHex).toBe(await ariaInfoHash(single));
    expect(one.files).toEqual([{ path: ['renamed.iso'], length: 123_457, offset: 0 }]);
  });

  it('ccp-bt create gives the same info-hash as mktorrent, and aria2 accepts it', async () => {
    const mk = join(work, 'mk-same.torrent');
    await mktorrent(join(work, 'src', 'album'), mk, ['-l', '15', '-a', TRACKER, '-n', 'named']);
    // mktorrent's info holds exactly these keys, so matching them matches its info-hash.
    const mkRoot = decodeBencode(await readFile(mk));
    expect(isDict(mkRoot) && isDict(mkRoot['info']) ? Object.keys(mkRoot['info']).sort() : []).toEqual(['files', 'name', 'piece length', 'pieces']);

    const ours = join(work, 'ours-same.torrent');
    const r = await ccpCreate([join(work, 'src', 'album'), '--tracker', TRACKER, '--piece-length', '32Ki', '--name', 'named', '-o', ours]);
    expect(r.code, r.stderr).toBe(0);
    const meta = await readMetainfo(ours);
    expect(r.stdout).toContain(meta.infoHashHex);
    expect(meta.infoHashHex).toBe((await readMetainfo(mk)).infoHashHex);
    expect(await ariaInfoHash(ours)).toBe(meta.infoHashHex);

    const mkSingle = join(work, 'mk-single-same.torrent');
    await mktorrent(join(work, 'src', 'single.iso'), mkSingle, ['-l', '16', '-a', TRACKER, '-p']);
    const oursSingle = join(work, 'ours-single.torrent');
    expect((await ccpCreate([join(work, 'src', 'single.iso'), '-t', TRACKER, '-l', '65536', '--private', '-o', oursSingle])).code).toBe(0);
    expect((await readMetainfo(oursSingle)).infoHashHex).toBe((await readMetainfo(mkSingle)).infoHashHex);
    expect(await ariaInfoHash(oursSingle)).toBe((await readMetainfo(oursSingle)).infoHashHex);
  });

  it('aria2 checks our torrent against the data and finds it complete (and a corrupt copy not)', async () => {
    const torrent = join(work, 'check.torrent');
    expect((await ccpCreate([join(work, 'src', 'album'), '-t', TRACKER, '-l', '16Ki', '-o', torrent])).code).toBe(0);
    const aria = (dir: string): Promise<Awaited<ReturnType<typeof runProcess>>> =>
      runProcess('aria2c', ['--check-integrity=true', '--seed-time=0', '--bt-stop-timeout=2', `--dir=${dir}`, ...ARIA_QUIET, torrent], { timeoutMs: 20_000 });
    const good = await aria(join(work, 'src'));
    expect(good.timedOut).toBe(false);
    expect(good.code, good.stdout + good.stderr).toBe(0);
    expect(good.stdout).toMatch(/\|OK\s*\|/);

    // Same layout, one byte changed: aria2 finds a bad piece, has no peer to fetch it from, stops unfinished.
    const copy = join(work, 'corrupt');
    await cp(join(work, 'src', 'album'), join(copy, 'album'), { recursive: true });
    const victim = join(copy, 'album', 'disc 1', 'track.bin');
    const bytes = await readFile(victim);
    bytes[50_000]! ^= 0x55;
    await writeFile(victim, bytes);
    const bad = await aria(copy);
    expect(bad.timedOut).toBe(false);
    expect(bad.code).not.toBe(0);
  });

  it('chooses a power-of-two piece length automatically and reports bad input clearly', async () => {
    const out = join(work, 'auto.torrent');
    expect((await ccpCreate([join(work, 'src', 'single.iso'), '-t', TRACKER, '-o', out])).code).toBe(0);
    const meta = parseMetainfo(await readFile(out));
    expect(meta.pieceLength).toBe(16384); // 123 KB is far below 1000 pieces of the 16 KiB minimum

    const again = await ccpCreate([join(work, 'src', 'single.iso'), '-t', TRACKER, '-o', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists \(use --force/);
    const decimal = await ccpCreate([join(work, 'src', 'single.iso'), '-l', '32k', '-o', join(work, 'x.torrent')]);
    expect(decimal.code).toBe(1);
    expect(decimal.stderr).toMatch(/did you mean 32Ki/);
    const badName = await ccpCreate([join(work, 'src', 'single.iso'), '--name', '../evil', '-o', join(work, 'z.torrent')]);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(/unusable torrent name/);
  });
});
