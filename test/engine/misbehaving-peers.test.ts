// Peers that break the protocol or send bad data are dropped (with a logged reason) and banned, while
// the others keep transferring. The misbehaving peers are raw sockets speaking our wire codec.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readMetainfo } from '../../datapath/metainfo/metainfo.js';
import {
  BLOCK_SIZE, HAVE_ALL_BYTES, MsgId, UNCHOKE_BYTES, WireParser, encodeHandshake, encodePiece, encodeReject, encodeRequest,
} from '../../datapath/wire/index.js';
import { ccp, freePort, killAll, makeTorrent, tempDir, waitFor, withTimeout } from './helpers.js';

const dirs: (() => void)[] = [];
const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  await killAll();
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
  for (const d of dirs.splice(0)) d();
});

/** Connects, sends `bytes`, resolves when the other side closes the connection (or rejects after ms). */
function sendAndAwaitClose(port: number, chunks: Buffer[], ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    sockets.push(s);
    const timer = setTimeout(() => reject(new Error('peer was not dropped')), ms);
    s.on('error', () => undefined);
    s.on('connect', () => {
      for (const c of chunks) s.write(c);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    s.resume();
  });
}

type Request = { index: number; begin: number; length: number };

/**
 * A leecher of a fresh torrent dialing a liar (a raw socket that has every piece, unchokes at once and
 * answers requests with `answer`) and an honest ccp-bt seeder capped at `honestMaxUp`. Resolves once the
 * leecher finished with the file intact, with its log (-v) and both ports.
 */
async function liarBesideSeeder(
  name: string, bytes: number, pieceLength: number, honestMaxUp: string,
  answer: (m: Request, s: net.Socket, good: Buffer, pieceLength: number) => void,
): Promise<{ log: string; liarPort: number; honestPort: number }> {
  const t = tempDir(name);
  dirs.push(t.cleanup);
  const src = join(t.dir, 'src');
  const dst = join(t.dir, 'dst');
  mkdirSync(src);
  mkdirSync(dst);
  const { data, torrent } = await makeTorrent(src, `${name}.bin`, bytes, [], pieceLength);
  const meta = await readMetainfo(torrent);
  const good = readFileSync(data);
  const liar = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    const p = new WireParser();
    s.on('data', (chunk: Buffer) => {
      p.push(chunk);
      try {
        for (let m = p.next(); m; m = p.next()) {
          if (m.id === 'handshake') s.write(Buffer.concat([encodeHandshake(meta.infoHash, randomBytes(20)), HAVE_ALL_BYTES, UNCHOKE_BYTES]));
          else if (m.id === MsgId.Request) answer(m, s, good, meta.pieceLength);
        }
      } catch {
        s.destroy();
      }
    });
  });
  servers.push(liar);
  const liarPort = await freePort();
  await new Promise<void>((r) => liar.listen(liarPort, '127.0.0.1', r));
  const honestPort = await freePort();
  const seeder = ccp(['seed', torrent, '--data', src, '--host', '127.0.0.1', '--port', String(honestPort), '--no-announce', '--max-up', honestMaxUp]);
  await waitFor(() => seeder.out().includes('seeding 1 torrent'), 20_000, 'seeder start');
  const leecher = ccp(['download', torrent, '-o', dst, '--host', '127.0.0.1', '--port', String(await freePort()), '--no-announce', '-v',
    '--peer', `127.0.0.1:${liarPort}`, '--peer', `127.0.0.1:${honestPort}`]);
  expect(await withTimeout(leecher.exited, 40_000, 'leecher', () => leecher.err()), leecher.err()).toBe(0);
  expect(readFileSync(join(dst, `${name}.bin`)).equals(good)).toBe(true);
  return { log: leecher.err(), liarPort, honestPort };
}

describe('misbehaving peers', () => {
  it('garbage and protocol violations drop that peer only; a leecher still finishes', async () => {
    const t = tempDir('viol');
    dirs.push(t.cleanup);
    const src = join(t.dir, 'src');
    const dst = join(t.dir, 'dst');
    mkdirSync(src);
    mkdirSync(dst);
    const { data, torrent } = await makeTorrent(src, 'f.bin', 3 * 1024 * 1024, [], 64 * 1024);
    const meta = await readMetainfo(torrent);
    const port = await freePort();
    const seeder = ccp(['seed', torrent, '--data', src, '--host', '127.0.0.1', '--port', String(port), '--no-announce', '-v']);
    await waitFor(() => seeder.out().includes('seeding 1 torrent'), 20_000, 'seeder start');
    const leecher = ccp(['download', torrent, '-o', dst, '--host', '127.0.0.1', '--port', String(await freePort()), '--peer', `127.0.0.1:${port}`, '--no-announce']);

    const hs = encodeHandshake(meta.infoHash, randomBytes(20));
    await sendAndAwaitClose(port, [Buffer.from('GET /announce HTTP/1.1\r\nHost: x\r\n\r\n')]);
    await sendAndAwaitClose(port, [hs, Buffer.from('0000000304000001', 'hex')]);
    await sendAndAwaitClose(port, [encodeHandshake(meta.infoHash, randomBytes(20)), Buffer.from('0000000100', 'hex'), encodeRequest(0, 0, 1 << 20)]);
    await sendAndAwaitClose(port, [encodeHandshake(randomBytes(20), randomBytes(20))]);
    await sendAndAwaitClose(port, [encodeHandshake(meta.infoHash, randomBytes(20)), Buffer.from('00000005040000ffff', 'hex')]);

    expect(await withTimeout(leecher.exited, 30_000, 'leecher'), leecher.err()).toBe(0);
    expect(readFileSync(join(dst, 'f.bin')).equals(readFileSync(data))).toBe(true);
    const log = seeder.err();
    expect(log).toMatch(/not a BitTorrent handshake/);
    expect(log).toMatch(/protocol violation: have message has length 3, expected 5/);
    expect(log).toMatch(/protocol violation: request 0:0\+1048576 is out of bounds/);
    expect(log).toMatch(/unknown info-hash/);
    expect(log).toMatch(/protocol violation: have for piece 65535/);
    expect(seeder.child.exitCode).toBeNull(); // still serving
  });

  it('a peer sending corrupt blocks is blamed for failed pieces and banned; the download completes', async () => {
    // A liar answering every request with random bytes; the honest seeder is capped so the liar is sure
    // to deliver (bad) pieces first.
    const run = await liarBesideSeeder('corrupt', 1024 * 1024 + 4321, 32 * 1024, '400k', (m, s) => s.write(encodePiece(m.index, m.begin, randomBytes(m.length))));
    expect(run.log, run.log).toMatch(/failed its hash check/);
    expect(run.log).toMatch(/banned after 3 pieces failed their hash check/);
  });

  it('an honest peer whose blocks shared a failed piece with a liar is not banned; the liar is found out', async () => {
    // Two blocks per piece. The liar refuses every first block and corrupts every second one, so no
    // piece ever fails with the liar alone: each failure mixes its block with the honest seeder's.
    // Blaming every sender banned both after three pieces and the download stalled.
    const run = await liarBesideSeeder('smartban', 48 * BLOCK_SIZE * 2, 2 * BLOCK_SIZE, '1M', (m, s, good, pieceLength) => {
      if (m.begin === 0) {
        s.write(encodeReject(m.index, m.begin, m.length));
        return;
      }
      const at = m.index * pieceLength + m.begin;
      const block = Buffer.from(good.subarray(at, at + m.length));
      block[0]! ^= 0xff;
      s.write(encodePiece(m.index, m.begin, block));
    });
    const liar = `127\\.0\\.0\\.1:${run.liarPort}`;
    const honest = `127\\.0\\.0\\.1:${run.honestPort}`;
    expect(run.log).toMatch(new RegExp(`failed its hash check \\(from (${liar}, ${honest}|${honest}, ${liar})\\)`));
    expect(run.log).toMatch(new RegExp(`dropped ${liar}: banned: sent bad data for piece \\d+ \\(found once the piece passed its hash check\\)`));
    expect(run.log).not.toMatch(new RegExp(`dropped ${honest}[^\\n]*banned`));
  });
});
