// A running session fed random (well-framed and not) message sequences after a valid handshake: each
// bad peer is dropped or ignored, the process never throws, and a real leecher still completes.
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import net from 'node:net';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readMetainfo } from '../../datapath/metainfo/metainfo.js';
import { Session } from '../../datapath/swarm/session.js';
import { encodeHandshake } from '../../datapath/wire/index.js';
import { makeTorrent, tempDir } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Sends the bytes, then waits until the session closes the socket or 150 ms pass quietly. */
function poke(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, 150);
    s.on('error', done);
    s.on('close', done);
    s.on('connect', () => s.write(bytes));
    s.resume();
  });
}

const message = fc.oneof(
  // Well framed: random id and payload.
  fc.tuple(fc.integer({ min: 0, max: 22 }), fc.uint8Array({ maxLength: 24 })).map(([id, p]) => {
    const b = Buffer.alloc(5 + p.length);
    b.writeUInt32BE(1 + p.length, 0);
    b[4] = id;
    b.set(p, 5);
    return b;
  }),
  // Plausible requests, some out of bounds.
  fc.tuple(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 300_000 }), fc.integer({ min: 0, max: 200_000 })).map(([i, b, l]) => {
    const m = Buffer.alloc(17);
    m.writeUInt32BE(13, 0);
    m[4] = 6;
    m.writeUInt32BE(i, 5);
    m.writeUInt32BE(b, 9);
    m.writeUInt32BE(l, 13);
    return m;
  }),
  fc.uint8Array({ minLength: 1, maxLength: 16 }).map((u) => Buffer.from(u)), // raw junk
);

describe('fuzzed peers against a live session', () => {
  it('random message sequences never crash or stall the session', async () => {
    const t = tempDir('fuzz');
    cleanups.push(t.cleanup);
    const src = join(t.dir, 'src');
    mkdirSync(src);
    const { data, torrent } = await makeTorrent(src, 'z.bin', 1024 * 1024, [], 16 * 1024);
    const meta = await readMetainfo(torrent);
    const errors: unknown[] = [];
    const onErr = (e: unknown): void => void errors.push(e);
    process.on('uncaughtException', onErr);
    cleanups.push(() => void process.off('uncaughtException', onErr));
    const seeder = new Session({ host: '127.0.0.1' });
    cleanups.push(() => seeder.close());
    await seeder.listen();
    await seeder.addTorrent(meta, src, { announce: false });
    await fc.assert(
      fc.asyncProperty(fc.array(message, { maxLength: 12 }), fc.boolean(), async (msgs, unchokeFirst) => {
        const interested = Buffer.from('0000000102', 'hex');
        const head = [encodeHandshake(meta.infoHash, randomBytes(20)), ...(unchokeFirst ? [interested] : [])];
        await poke(seeder.port, Buffer.concat([...head, ...msgs]));
      }),
      { numRuns: 120 },
    );
    expect(errors).toEqual([]);
    // Still serving: a real leecher completes.
    const leecher = new Session({ host: '127.0.0.1' });
    cleanups.push(() => leecher.close());
    await leecher.listen();
    const lt = await leecher.addTorrent(meta, join(t.dir, 'dst'), { announce: false, peers: [{ host: '127.0.0.1', port: seeder.port }] });
    await new Promise<void>((res) => (lt.complete ? res() : lt.once('complete', () => res())));
    expect(readFileSync(join(t.dir, 'dst', 'z.bin')).equals(readFileSync(data))).toBe(true);
  });
});
