// Handshake and idle timeouts, and a peer that unchokes but never answers (snubbing): its requests
// time out, go to another peer, and the download completes. Timeouts shortened through SessionOptions.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readMetainfo } from '../../datapath/metainfo/metainfo.js';
import { Session } from '../../datapath/swarm/session.js';
import { HAVE_ALL_BYTES, UNCHOKE_BYTES, WireParser, encodeHandshake } from '../../datapath/wire/index.js';
import { makeTorrent, tempDir, waitFor } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function closedWithin(socket: net.Socket, ms: number): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not closed in time')), ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
  });
}

describe('timeouts', () => {
  it('drops a connection that never handshakes, and one that goes silent', async () => {
    const t = tempDir('timeouts');
    cleanups.push(t.cleanup);
    const { torrent } = await makeTorrent(t.dir, 'a.bin', 100_000, [], 16 * 1024);
    const meta = await readMetainfo(torrent);
    const logs: string[] = [];
    const s = new Session({ host: '127.0.0.1', timeouts: { handshakeMs: 300, idleMs: 1500 }, log: (m) => logs.push(m) });
    cleanups.push(() => s.close());
    await s.listen();
    await s.addTorrent(meta, t.dir, { announce: false });

    const mute = net.connect({ host: '127.0.0.1', port: s.port });
    mute.on('error', () => undefined);
    mute.resume();
    expect(await closedWithin(mute, 3000)).toBeLessThan(2000);
    expect(logs.join('\n')).toMatch(/no handshake within 300 ms/);

    const quiet = net.connect({ host: '127.0.0.1', port: s.port });
    quiet.on('error', () => undefined);
    quiet.on('connect', () => quiet.write(encodeHandshake(meta.infoHash, randomBytes(20))));
    quiet.resume();
    const ms = await closedWithin(quiet, 5000);
    expect(ms).toBeGreaterThanOrEqual(1400);
    expect(logs.join('\n')).toMatch(/idle for 1.5 s/);
  });

  it('a peer that unchokes and never answers is snubbed; its blocks go elsewhere and the download completes', async () => {
    const t = tempDir('snub');
    cleanups.push(t.cleanup);
    const src = join(t.dir, 'src');
    mkdirSync(src);
    const { data, torrent } = await makeTorrent(src, 'b.bin', 1024 * 1024, [], 32 * 1024);
    const meta = await readMetainfo(torrent);
    // The staller: has everything, unchokes, keeps the connection alive, never sends a block.
    const staller = net.createServer((sock) => {
      sock.on('error', () => undefined);
      const p = new WireParser();
      sock.on('data', (c: Buffer) => {
        p.push(c);
        try {
          for (let m = p.next(); m; m = p.next()) {
            if (m.id === 'handshake') sock.write(Buffer.concat([encodeHandshake(meta.infoHash, randomBytes(20)), HAVE_ALL_BYTES, UNCHOKE_BYTES]));
          }
        } catch {
          sock.destroy();
        }
      });
      const keep = setInterval(() => sock.write(Buffer.alloc(4)), 300);
      sock.on('close', () => clearInterval(keep));
    });
    await new Promise<void>((r) => staller.listen(0, '127.0.0.1', r));
    cleanups.push(() => void staller.close());
    const seeder = new Session({ host: '127.0.0.1' });
    cleanups.push(() => seeder.close());
    await seeder.listen();
    await seeder.addTorrent(meta, src, { announce: false });
    const logs: string[] = [];
    const leecher = new Session({ host: '127.0.0.1', timeouts: { requestMs: 1000, snubMs: 1500 }, log: (m) => logs.push(m) });
    cleanups.push(() => leecher.close());
    await leecher.listen();
    const lt = await leecher.addTorrent(meta, join(t.dir, 'dst'), {
      announce: false, peers: [{ host: '127.0.0.1', port: (staller.address() as net.AddressInfo).port }],
    });
    // The staller takes the first requests and sits on them until it is found snubbing (its requests
    // are cancelled and released, one at a time from then on); then an honest seeder joins.
    await waitFor(() => [...lt.peers].some((p) => p.outstanding.size > 0), 5000, 'requests to the staller');
    await waitFor(() => [...lt.peers].some((p) => p.snubbed), 5000, 'the staller to be marked snubbed');
    const stuck = [...lt.peers][0]!;
    expect(stuck.outstanding.size).toBeLessThanOrEqual(1);
    lt.addPeer({ host: '127.0.0.1', port: seeder.port });
    await new Promise<void>((res) => (lt.complete ? res() : lt.once('complete', () => res())));
    expect(readFileSync(join(t.dir, 'dst', 'b.bin')).equals(readFileSync(data))).toBe(true);
    expect(logs.join('\n')).toMatch(/snubbed us/);
  });
});
