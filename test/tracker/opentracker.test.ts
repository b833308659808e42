// Our HTTP and UDP client against Debian's opentracker, run as a real process on 127.0.0.1.
// Its Debian build serves whitelisted info-hashes only, so each test torrent's hash is listed first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { announceHttp } from '../../datapath/tracker/http.js';
import { announceUdp } from '../../datapath/tracker/udp.js';
import { Announcer, type AnnounceInfo, type PeerAddress } from '../../datapath/tracker/announcer.js';
import type { AnnounceRequest } from '../../datapath/tracker/types.js';
import { TrackerError } from '../../datapath/tracker/tracker-error.js';
import { Processes, freeTcpUdpPort, makeTempDir, randomId, removeDir, waitFor } from './helpers.js';

const procs = new Processes();
let dir = '';
let httpUrl = '';
let udpUrl = '';
const listed = Array.from({ length: 4 }, () => randomId());

beforeAll(async () => {
  dir = makeTempDir('opentracker');
  writeFileSync(join(dir, 'whitelist.txt'), listed.map((h) => h.toString('hex')).join('\n') + '\n');
  const port = await freeTcpUdpPort();
  // opentracker drops privileges (to 'nobody') before it reads the whitelist: mkdtemp's 0700 folder
  // would hide the file from it, and it would then refuse every torrent.
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'whitelist.txt'), 0o644);
  writeFileSync(join(dir, 'opentracker.conf'), `listen.tcp_udp 127.0.0.1:${port}\naccess.whitelist ${join(dir, 'whitelist.txt')}\n`);
  const child = procs.start('opentracker', ['-f', join(dir, 'opentracker.conf')], { cwd: dir });
  httpUrl = `http://127.0.0.1:${port}/announce`;
  udpUrl = `udp://127.0.0.1:${port}`;
  // Ready when it answers an announce for a listed torrent (it loads the whitelist in the background).
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`opentracker exited: ${procs.output.get(child)}`);
    return announceHttp(httpUrl, req(listed[3]!, 1), { timeoutMs: 500 }).then(() => true, () => false);
  }, 10_000, 'opentracker to listen and load its whitelist');
});

afterAll(async () => {
  await procs.killAll();
  removeDir(dir);
});

function req(infoHash: Buffer, port: number, over: Partial<AnnounceRequest> = {}): AnnounceRequest {
  return { infoHash, peerId: randomId(), port, uploaded: 0, downloaded: 0, left: 1000, event: 'started', key: 3, numwant: 50, ...over };
}

describe('our tracker client against opentracker', () => {
  it('HTTP: peers see each other, counts are read, stopped removes', async () => {
    const ih = listed[0]!;
    await announceHttp(httpUrl, req(ih, 9001));
    const b = await announceHttp(httpUrl, req(ih, 9002, { left: 0 }));
    expect(b.peers).toContainEqual({ host: '127.0.0.1', port: 9001 });
    expect(b.intervalS).toBeGreaterThan(0);
    expect(b.complete).toBe(1);
    expect(b.incomplete).toBe(1);
    await announceHttp(httpUrl, req(ih, 9001, { event: 'stopped' }));
    const c = await announceHttp(httpUrl, req(ih, 9003));
    expect(c.peers).not.toContainEqual({ host: '127.0.0.1', port: 9001 });
    expect(c.peers).toContainEqual({ host: '127.0.0.1', port: 9002 });
  });

  it('UDP: peers see each other, counts are read, stopped removes', async () => {
    const ih = listed[1]!;
    const opts = { timeoutMs: 500, maxRetries: 2 };
    await announceUdp(udpUrl, req(ih, 9101), opts);
    const b = await announceUdp(udpUrl, req(ih, 9102, { left: 0 }), opts);
    expect(b.peers).toContainEqual({ host: '127.0.0.1', port: 9101 });
    expect(b.complete).toBe(1);
    expect(b.incomplete).toBe(1);
    await announceUdp(udpUrl, req(ih, 9101, { event: 'stopped' }), opts);
    const c = await announceUdp(udpUrl, req(ih, 9103), opts);
    expect(c.peers).not.toContainEqual({ host: '127.0.0.1', port: 9101 });
    expect(c.peers).toContainEqual({ host: '127.0.0.1', port: 9102 });
  });

  it('a torrent missing from the whitelist is refused with the tracker’s reason, not taken for an empty swarm', async () => {
    const err = await announceHttp(httpUrl, req(randomId(), 9201), { timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrackerError);
    expect((err as TrackerError).byTracker).toBe(true);
    expect((err as TrackerError).message).toMatch(/not authorized/);
  });

  it('the Announcer on an HTTP and a UDP tier of opentracker finds a peer on each', async () => {
    const ih = listed[2]!;
    await announceHttp(httpUrl, req(ih, 9301));
    const a = new Announcer({
      tiers: [[httpUrl], [udpUrl]], infoHash: ih, peerId: randomId(), port: 9302,
      stats: () => ({ uploaded: 0, downloaded: 0, left: 10 }), transport: { udp: { timeoutMs: 500, maxRetries: 2 } },
    });
    const seen: { url: string; peers: PeerAddress[] }[] = [];
    const announced: AnnounceInfo[] = [];
    a.on('peers', (peers: PeerAddress[], url: string) => seen.push({ url, peers }));
    a.on('announced', (i: AnnounceInfo) => announced.push(i));
    try {
      a.start();
      await waitFor(() => announced.length === 2, 5000, 'both tiers');
      for (const url of [httpUrl, udpUrl]) {
        expect(seen.find((s) => s.url === url)?.peers).toContainEqual({ host: '127.0.0.1', port: 9301 });
      }
      // The Announcer leaves itself out even though opentracker lists the asker too.
      expect(seen.every((s) => s.peers.every((p) => p.port !== 9302))).toBe(true);
    } finally {
      await a.stop();
    }
    const after = await announceHttp(httpUrl, req(ih, 9303));
    expect(after.peers).not.toContainEqual({ host: '127.0.0.1', port: 9302 });
  });
});
