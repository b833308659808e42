// Our client against our server, over real HTTP and UDP sockets on 127.0.0.1.
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { startTracker, type TrackerServer } from '../../tracker/server.js';
import type { AnnounceSeen } from '../../tracker/tracker-core.js';
import { announceHttp } from '../../datapath/tracker/http.js';
import { announceUdp } from '../../datapath/tracker/udp.js';
import { parseHttpAnnounceResponse } from '../../datapath/tracker/http-response.js';
import { TrackerError } from '../../datapath/tracker/tracker-error.js';
import type { AnnounceRequest, AnnounceResponse } from '../../datapath/tracker/types.js';
import { randomId, sleep } from './helpers.js';
import { decodeBencode } from '../../datapath/bencode.js';

let tracker: TrackerServer | null = null;
afterEach(async () => {
  await tracker?.close();
  tracker = null;
});

const udpOpts = { timeoutMs: 500, maxRetries: 2 };

function req(infoHash: Buffer, port: number, over: Partial<AnnounceRequest> = {}): AnnounceRequest {
  return { infoHash, peerId: randomId(), port, uploaded: 0, downloaded: 0, left: 1000, event: 'started', key: 7, numwant: 50, ...over };
}

type Announce = (url: string, r: AnnounceRequest) => Promise<AnnounceResponse>;
const transports: [string, (t: TrackerServer) => string, Announce][] = [
  ['http', (t) => t.httpUrl, (u, r) => announceHttp(u, r, { timeoutMs: 3000 })],
  ['udp', (t) => t.udpUrl, (u, r) => announceUdp(u, r, udpOpts)],
];

describe.each(transports)('our client ↔ our server over %s', (_name, urlOf, announce) => {
  it('lets several peers see each other, never themselves, and counts seeders/leechers', async () => {
    tracker = await startTracker({ intervalS: 30 });
    const url = urlOf(tracker);
    const ih = randomId();
    const a = await announce(url, req(ih, 7001));
    expect(a.peers).toEqual([]);
    expect(a.intervalS).toBe(30);
    const b = await announce(url, req(ih, 7002));
    expect(b.peers).toEqual([{ host: '127.0.0.1', port: 7001 }]);
    const c = await announce(url, req(ih, 7003, { left: 0 }));
    expect(c.peers.map((p) => p.port).sort()).toEqual([7001, 7002]);
    expect(c.complete).toBe(1);
    expect(c.incomplete).toBe(2);
    // A regular re-announce from the first peer now sees both others.
    const a2 = await announce(url, req(ih, 7001, { event: '' }));
    expect(a2.peers.map((p) => p.port).sort()).toEqual([7002, 7003]);
    expect(tracker.swarms().get(ih.toString('hex'))).toEqual({ seeders: 1, leechers: 2, completed: 0 });
  });

  it('removes a peer on stopped and counts completed', async () => {
    tracker = await startTracker({ intervalS: 30 });
    const url = urlOf(tracker);
    const ih = randomId();
    await announce(url, req(ih, 7101));
    await announce(url, req(ih, 7102));
    await announce(url, req(ih, 7102, { event: 'completed', left: 0 }));
    expect(tracker.swarms().get(ih.toString('hex'))).toEqual({ seeders: 1, leechers: 1, completed: 1 });
    const stopped = await announce(url, req(ih, 7101, { event: 'stopped', numwant: 0 }));
    expect(stopped.peers).toEqual([]);
    const after = await announce(url, req(ih, 7103));
    expect(after.peers).toEqual([{ host: '127.0.0.1', port: 7102 }]);
  });

  it('passes on the uploaded and downloaded totals a client reports', async () => {
    const seen: AnnounceSeen[] = [];
    tracker = await startTracker({ intervalS: 30, onAnnounce: (a) => seen.push(a) });
    const ih = randomId();
    await announce(urlOf(tracker), req(ih, 7151, { uploaded: 5_000_000_123, downloaded: 42, event: 'stopped' }));
    expect(seen).toEqual([expect.objectContaining({ port: 7151, event: 'stopped', uploaded: 5_000_000_123, downloaded: 42 })]);
  });

  it('honours numwant with a random subset', async () => {
    tracker = await startTracker({ intervalS: 30 });
    const url = urlOf(tracker);
    const ih = randomId();
    for (let p = 7200; p < 7210; p++) await announce(url, req(ih, p));
    const few = await announce(url, req(ih, 7299, { numwant: 3 }));
    expect(few.peers).toHaveLength(3);
    expect(new Set(few.peers.map((p) => p.port)).size).toBe(3);
  });

  it('refuses a torrent outside the whitelist with the tracker’s reason', async () => {
    const allowed = randomId();
    tracker = await startTracker({ whitelist: [allowed] });
    const url = urlOf(tracker);
    await expect(announce(url, req(allowed, 7301))).resolves.toMatchObject({ peers: [] });
    const err = await announce(url, req(randomId(), 7302)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrackerError);
    expect((err as TrackerError).byTracker).toBe(true);
    expect((err as TrackerError).message).toMatch(/not registered/);
  });

  it('forgets peers after their TTL', async () => {
    tracker = await startTracker({ intervalS: 1, peerTtlS: 0.4 });
    const url = urlOf(tracker);
    const ih = randomId();
    await announce(url, req(ih, 7401));
    await sleep(600);
    const r = await announce(url, req(ih, 7402));
    expect(r.peers).toEqual([]);
    expect(tracker.swarms().get(ih.toString('hex'))?.leechers).toBe(1);
  });
});

describe('HTTP details', () => {
  function rawGet(url: string): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      http.get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
  }

  it('reads missing or malformed uploaded/downloaded totals as 0', async () => {
    const seen: AnnounceSeen[] = [];
    tracker = await startTracker({ intervalS: 30, onAnnounce: (a) => seen.push(a) });
    const enc = [...randomId()].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    await rawGet(`${tracker.httpUrl}?info_hash=${enc}&peer_id=-XX0001-abcdefghijkl&port=7503&left=5&uploaded=12ab&downloaded=-3`);
    await rawGet(`${tracker.httpUrl}?info_hash=${enc}&peer_id=-XX0001-abcdefghijkm&port=7504&left=5`);
    expect(seen.map((a) => [a.port, a.uploaded, a.downloaded])).toEqual([[7503, 0, 0], [7504, 0, 0]]);
  });

  it('an https:// tracker is spoken to over TLS (a plain HTTP port fails the handshake, in time)', async () => {
    tracker = await startTracker({ intervalS: 30 });
    const httpsUrl = tracker.httpUrl.replace('http://', 'https://');
    const err = await announceHttp(httpsUrl, req(randomId(), 7701), { timeoutMs: 3000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrackerError);
    expect((err as TrackerError).message).not.toMatch(/unsupported|timeout/);
    expect((err as TrackerError).message).toMatch(/EPROTO|SSL|TLS/i); // the TLS handshake met a plain HTTP server
    // ftp:// and the like stay refused without a connection.
    await expect(announceHttp(tracker.httpUrl.replace('http://', 'ftp://'), req(randomId(), 7702))).rejects.toThrow(/unsupported tracker URL scheme/);
  });

  it('serves the non-compact dictionary list when compact=0, which our parser reads', async () => {
    tracker = await startTracker({ intervalS: 30 });
    const ih = randomId();
    await announceHttp(tracker.httpUrl, req(ih, 7501));
    const q = `info_hash=${[...ih].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}&peer_id=-XX0001-abcdefghijkl&port=7502&left=5&compact=0`;
    const { status, body } = await rawGet(`${tracker.httpUrl}?${q}`);
    expect(status).toBe(200);
    expect(body.toString('latin1')).toContain('7:peer id20:');
    expect(parseHttpAnnounceResponse(body).peers).toEqual([{ host: '127.0.0.1', port: 7501 }]);
  });

  it('answers scrape with per-torrent counts, and bad requests with a failure reason', async () => {
    tracker = await startTracker({ intervalS: 30 });
    const ih = randomId();
    await announceHttp(tracker.httpUrl, req(ih, 7601, { left: 0 }));
    await announceHttp(tracker.httpUrl, req(ih, 7602));
    const enc = [...ih].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    const scrape = await rawGet(tracker.httpUrl.replace('/announce', '/scrape') + `?info_hash=${enc}`);
    expect(scrape.body.toString('latin1')).toContain('8:completei1e10:downloadedi0e10:incompletei1e');
    const bad = await rawGet(`${tracker.httpUrl}?info_hash=short&peer_id=x&port=1`);
    expect(() => parseHttpAnnounceResponse(bad.body)).toThrow(/info_hash/);
    const noPort = await rawGet(`${tracker.httpUrl}?info_hash=${enc}&peer_id=-XX0001-abcdefghijkl`);
    expect(() => parseHttpAnnounceResponse(noPort.body)).toThrow(/port/);
    const notFound = await rawGet(tracker.httpUrl.replace('/announce', '/nothing'));
    expect(notFound.status).toBe(404);
  });

  it('answers a scrape of several torrents with their raw info-hashes as keys, in byte order', async () => {
    tracker = await startTracker({ intervalS: 30 });
    // Bytes that are not UTF-8 and whose decimal string forms sort differently from the bytes.
    const hashes = [Buffer.alloc(20, 0x10), Buffer.alloc(20, 0xe9), Buffer.alloc(20, 0x02)];
    for (const [i, ih] of hashes.entries()) await announceHttp(tracker.httpUrl, req(ih, 7801 + i, { left: 0 }));
    const enc = (ih: Buffer) => [...ih].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    const scrape = await rawGet(tracker.httpUrl.replace('/announce', '/scrape') + '?' + hashes.map((h) => `info_hash=${enc(h)}`).join('&'));
    const counts = 'd8:completei1e10:downloadedi0e10:incompletei0ee';
    const expected = ['d5:filesd', ...[hashes[2]!, hashes[0]!, hashes[1]!].map((h) => `20:${h.toString('latin1')}${counts}`), 'ee'].join('');
    expect(scrape.body.toString('latin1')).toBe(expected);
    expect(() => decodeBencode(scrape.body)).not.toThrow();
  });

  it('lists a peer under a claimed loopback ip, but not under a claimed outside address', async () => {
    tracker = await startTracker({ intervalS: 30 });
    const ih = randomId();
    const enc = [...ih].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    await rawGet(`${tracker.httpUrl}?info_hash=${enc}&peer_id=-XX0001-aaaaaaaaaaaa&port=7701&ip=127.0.0.5`);
    await rawGet(`${tracker.httpUrl}?info_hash=${enc}&peer_id=-XX0001-bbbbbbbbbbbb&port=7702&ip=8.8.8.8`);
    const r = await announceHttp(tracker.httpUrl, req(ih, 7703));
    expect(r.peers.sort((x, y) => x.port - y.port)).toEqual([{ host: '127.0.0.5', port: 7701 }, { host: '127.0.0.1', port: 7702 }]);
  });
});
