// The Announcer against real trackers on 127.0.0.1: tiers, intervals, min interval, failover, backoff,
// completed and stopped.
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { Announcer, type AnnounceInfo, type AnnounceStats, type AnnouncerOptions, type PeerAddress } from '../../datapath/tracker/announcer.js';
import { encodeBencode } from '../../datapath/bencode.js';
import { startTracker, type TrackerServer } from '../../tracker/server.js';
import { randomId, sleep, waitFor } from './helpers.js';

const trackers: TrackerServer[] = [];
const announcers: Announcer[] = [];
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(announcers.map((a) => a.stop()));
  await Promise.all(trackers.map((t) => t.close()));
  await Promise.all(servers.map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
  announcers.length = 0;
  trackers.length = 0;
  servers.length = 0;
});

async function tracker(intervalS: number): Promise<TrackerServer> {
  const t = await startTracker({ intervalS });
  trackers.push(t);
  return t;
}

interface Recorded { announcer: Announcer; announced: (AnnounceInfo & { atMs: number })[]; peers: PeerAddress[][]; warnings: { msg: string; url: string; atMs: number }[] }

function announcer(opts: Partial<AnnouncerOptions> & Pick<AnnouncerOptions, 'tiers'>, stats: AnnounceStats = { uploaded: 0, downloaded: 0, left: 100 }): Recorded {
  const a = new Announcer({
    infoHash: randomId(), peerId: randomId(), port: 6000 + Math.floor(Math.random() * 1000), stats: () => stats,
    transport: { http: { timeoutMs: 2000 }, udp: { timeoutMs: 200, maxRetries: 1 } },
    ...opts,
  });
  announcers.push(a);
  const rec: Recorded = { announcer: a, announced: [], peers: [], warnings: [] };
  a.on('announced', (info: AnnounceInfo) => rec.announced.push({ ...info, atMs: Date.now() }));
  a.on('peers', (peers: PeerAddress[]) => rec.peers.push(peers));
  a.on('warning', (msg: string, url: string) => rec.warnings.push({ msg, url, atMs: Date.now() }));
  return rec;
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('Announcer', () => {
  it('lets peers on HTTP and UDP tiers of one torrent find each other', async () => {
    const t = await tracker(1);
    const infoHash = randomId();
    const a = announcer({ tiers: [[t.httpUrl]], infoHash, port: 7001 });
    const b = announcer({ tiers: [[t.udpUrl]], infoHash, port: 7002 });
    a.announcer.start();
    await waitFor(() => a.announced.length > 0, 3000, 'first announce');
    b.announcer.start();
    await waitFor(() => b.peers.some((ps) => ps.some((p) => p.port === 7001)), 3000, 'b to see a');
    await waitFor(() => a.peers.some((ps) => ps.some((p) => p.port === 7002)), 3000, 'a to see b on its next interval');
    expect(a.announced[0]!.event).toBe('started');
    expect(a.warnings).toEqual([]);
  });

  it('announces on every tier', async () => {
    const t1 = await tracker(30);
    const t2 = await tracker(30);
    const infoHash = randomId();
    const a = announcer({ tiers: [[t1.httpUrl], [t2.udpUrl]], infoHash });
    a.announcer.start();
    await waitFor(() => a.announced.length === 2, 3000, 'both tiers');
    const hex = infoHash.toString('hex');
    expect(t1.swarms().get(hex)?.leechers).toBe(1);
    expect(t2.swarms().get(hex)?.leechers).toBe(1);
  });

  it('follows the tracker’s interval', async () => {
    const t = await tracker(1);
    const a = announcer({ tiers: [[t.httpUrl]] });
    a.announcer.start();
    await sleep(3300);
    const n = a.announced.length;
    expect(n).toBeGreaterThanOrEqual(3);
    expect(n).toBeLessThanOrEqual(5);
    for (let i = 1; i < n; i++) expect(a.announced[i]!.atMs - a.announced[i - 1]!.atMs).toBeGreaterThanOrEqual(900);
    expect(a.announced.slice(1).every((x) => x.event === '')).toBe(true);
  });

  it('announceNow waits for the min interval, and no longer than that', async () => {
    const t = await tracker(4); // our HTTP tracker sends min interval = interval / 2 = 2 s
    const a = announcer({ tiers: [[t.httpUrl]] });
    a.announcer.start();
    await waitFor(() => a.announced.length === 1, 3000, 'started');
    const t0 = a.announced[0]!.atMs;
    for (let i = 0; i < 5; i++) {
      a.announcer.announceNow();
      await sleep(100);
    }
    await waitFor(() => a.announced.length === 2, 4000, 'early announce');
    const gap = a.announced[1]!.atMs - t0;
    expect(gap).toBeGreaterThanOrEqual(1900);
    expect(gap).toBeLessThan(3500);
  });

  it('fails over within a tier to a working tracker and keeps it first', async () => {
    const t = await tracker(1);
    const deadHttp = `http://127.0.0.1:${await closedPort()}/announce`;
    const deadUdp = `udp://127.0.0.1:${await closedPort()}`;
    const a = announcer({ tiers: [[deadHttp, deadUdp, t.httpUrl]] });
    a.announcer.start();
    await waitFor(() => a.announced.length >= 1, 5000, 'an announce that succeeds');
    const warningsAtFirst = a.warnings.length;
    expect(warningsAtFirst).toBeLessThanOrEqual(2);
    expect(a.warnings.every((w) => w.url === deadHttp || w.url === deadUdp)).toBe(true);
    await waitFor(() => a.announced.length >= 3, 5000, 'two more announces');
    expect(a.warnings.length).toBe(warningsAtFirst);
    expect(a.announced.every((x) => x.trackerUrl === t.httpUrl)).toBe(true);
  });

  it('backs off after failures, doubling the wait', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}/announce`;
    const a = announcer({ tiers: [[dead]], retryBaseMs: 100, retryMaxMs: 10_000 });
    a.announcer.start();
    await sleep(1000);
    // Tries at about 0, 100, 300, 700 ms.
    expect(a.warnings.length).toBeGreaterThanOrEqual(3);
    expect(a.warnings.length).toBeLessThanOrEqual(5);
    const gaps = a.warnings.slice(1).map((w, i) => w.atMs - a.warnings[i]!.atMs);
    // Timers on a busy machine run late, so compare the ends rather than each step.
    expect(gaps.at(-1)!).toBeGreaterThan(gaps[0]! * 1.3);
  });

  it('sends completed, then stopped, and the tracker sees both', async () => {
    const t = await tracker(30);
    const infoHash = randomId();
    const stats = { uploaded: 0, downloaded: 0, left: 500 };
    const a = announcer({ tiers: [[t.udpUrl]], infoHash }, stats);
    a.announcer.start();
    await waitFor(() => a.announced.length === 1, 3000, 'started');
    stats.left = 0;
    stats.downloaded = 500;
    a.announcer.completed();
    await waitFor(() => a.announced.length === 2, 3000, 'completed');
    expect(a.announced[1]!.event).toBe('completed');
    expect(t.swarms().get(infoHash.toString('hex'))).toEqual({ seeders: 1, leechers: 0, completed: 1 });
    await a.announcer.stop();
    expect(t.swarms().get(infoHash.toString('hex'))?.seeders ?? 0).toBe(0);
  });

  it('stop() is bounded when the tracker stops answering', async () => {
    let hang = false;
    const server = http.createServer((_req, res) => {
      if (hang) return; // never answers
      res.end(encodeBencode({ interval: 30, peers: Buffer.alloc(0) }));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/announce`;
    const a = announcer({ tiers: [[url]], stopTimeoutMs: 500 });
    a.announcer.start();
    await waitFor(() => a.announced.length === 1, 3000, 'started');
    hang = true;
    const started = Date.now();
    await a.announcer.stop();
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('never throws: bad URLs and a failing stats callback become warnings', async () => {
    const t = await tracker(30);
    const a = new Announcer({
      tiers: [['wss://nowhere.invalid/announce', 'not a url'], [t.httpUrl]], infoHash: randomId(), peerId: randomId(), port: 7100,
      stats: () => { throw new Error('stats broke'); },
    });
    announcers.push(a);
    const warnings: string[] = [];
    const done: AnnounceInfo[] = [];
    a.on('warning', (m: string) => warnings.push(m));
    a.on('announced', (i: AnnounceInfo) => done.push(i));
    a.start();
    await waitFor(() => done.length === 1, 3000, 'announce despite the broken stats');
    expect(warnings.filter((w) => /unsupported tracker URL/.test(w))).toHaveLength(2);
    expect(warnings.some((w) => /stats broke/.test(w))).toBe(true);
  });
});
