// The BEP 15 client against a scripted UDP tracker on 127.0.0.1: retransmission, transaction ids,
// error actions, bounds on the answer, connection id reuse.
import { afterEach, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { announceUdp } from '../../datapath/tracker/udp.js';
import { TrackerError } from '../../datapath/tracker/tracker-error.js';
import {
  decodeClientMessage, encodeAnnounceResponse, encodeConnectResponse, encodeErrorResponse, type UdpClientMessage,
} from '../../datapath/tracker/udp-messages.js';
import type { AnnounceRequest } from '../../datapath/tracker/types.js';
import { randomId } from './helpers.js';

type Script = (m: UdpClientMessage, reply: (b: Buffer) => void, count: number) => void;

let sockets: dgram.Socket[] = [];
afterEach(async () => {
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  sockets = [];
});

async function scriptedTracker(script: Script): Promise<{ url: string; received: UdpClientMessage[] }> {
  const s = dgram.createSocket('udp4');
  sockets.push(s);
  const received: UdpClientMessage[] = [];
  s.on('message', (msg, rinfo) => {
    const m = decodeClientMessage(msg);
    if (!m) return;
    received.push(m);
    script(m, (b) => s.send(b, rinfo.port, rinfo.address), received.length);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return { url: `udp://127.0.0.1:${s.address().port}`, received };
}

const CID = Buffer.from('0102030405060708', 'hex');
const peer = Buffer.from([127, 0, 0, 1, 0x1a, 0xe1]); // 127.0.0.1:6881

function req(): AnnounceRequest {
  return { infoHash: randomId(), peerId: randomId(), port: 6881, uploaded: 1, downloaded: 2, left: 3, event: 'started', key: 9, numwant: 10 };
}

/** A well-behaved tracker step. */
const good: Script = (m, reply) => {
  if (m.action === 'connect') reply(encodeConnectResponse(m.transactionId, CID));
  else if (m.action === 'announce') reply(encodeAnnounceResponse(m.transactionId, 120, 3, 4, peer));
};

describe('UDP tracker client (BEP 15)', () => {
  it('connects, announces with the connection id, and reads interval, counts and peers', async () => {
    const t = await scriptedTracker(good);
    const r = req();
    const res = await announceUdp(t.url, r, { timeoutMs: 300, maxRetries: 1 });
    expect(res).toEqual({ intervalS: 120, peers: [{ host: '127.0.0.1', port: 6881 }], complete: 4, incomplete: 3 });
    const ann = t.received.find((m) => m.action === 'announce');
    expect(ann).toMatchObject({ connectionId: CID, event: 'started', port: 6881, uploaded: 1, downloaded: 2, left: 3, key: 9, numWant: 10 });
    expect(ann && 'infoHash' in ann ? ann.infoHash : null).toEqual(r.infoHash);
  });

  it('reuses a connection id for the next announce within a minute', async () => {
    const t = await scriptedTracker(good);
    await announceUdp(t.url, req(), { timeoutMs: 300, maxRetries: 1 });
    await announceUdp(t.url, req(), { timeoutMs: 300, maxRetries: 1 });
    expect(t.received.map((m) => m.action)).toEqual(['connect', 'announce', 'announce']);
  });

  it('a cached connection id the tracker refuses (it restarted) is replaced with a fresh one, once', async () => {
    const NEW_CID = Buffer.from('1112131415161718', 'hex');
    let restarted = false;
    const t = await scriptedTracker((m, reply) => {
      const current = restarted ? NEW_CID : CID;
      if (m.action === 'connect') reply(encodeConnectResponse(m.transactionId, current));
      else if (m.action === 'announce' && m.connectionId.equals(current)) reply(encodeAnnounceResponse(m.transactionId, 120, 3, 4, peer));
      else reply(encodeErrorResponse(m.transactionId, 'connection id expired or invalid'));
    });
    await announceUdp(t.url, req(), { timeoutMs: 300, maxRetries: 0 });
    restarted = true;
    const res = await announceUdp(t.url, req(), { timeoutMs: 300, maxRetries: 0 });
    expect(res.peers).toHaveLength(1);
    expect(t.received.map((m) => m.action)).toEqual(['connect', 'announce', 'announce', 'connect', 'announce']);
    // A refusal of a fresh id is the tracker's answer: no second round.
    const refusing = await scriptedTracker((m, reply) => {
      if (m.action === 'connect') reply(encodeConnectResponse(m.transactionId, CID));
      else reply(encodeErrorResponse(m.transactionId, 'connection id expired or invalid'));
    });
    await expect(announceUdp(refusing.url, req(), { timeoutMs: 300, maxRetries: 2 })).rejects.toThrow(/expired or invalid/);
    // (An id cached for this port by an earlier test's tracker would add one announce in front.)
    const actions = refusing.received.map((m) => m.action);
    expect([actions.filter((a) => a === 'connect').length, actions.slice(-2)]).toEqual([1, ['connect', 'announce']]);
  });

  it('retransmits after the timeout when datagrams are lost', async () => {
    // Drops the first connect and the first announce.
    const t = await scriptedTracker((m, reply, n) => {
      if (n === 1 || n === 3) return;
      good(m, reply, n);
    });
    const res = await announceUdp(t.url, req(), { timeoutMs: 100, maxRetries: 3 });
    expect(res.peers).toHaveLength(1);
    // connect (lost), connect, announce (lost), then a fresh connect (id may be stale) and the announce.
    expect(t.received.map((m) => m.action)).toEqual(['connect', 'connect', 'announce', 'connect', 'announce']);
  });

  it('ignores answers with the wrong transaction id', async () => {
    const t = await scriptedTracker((m, reply, n) => {
      if (m.action === 'announce') reply(encodeAnnounceResponse((m.transactionId + 1) >>> 0, 60, 0, 0, Buffer.alloc(0)));
      good(m, reply, n);
    });
    const res = await announceUdp(t.url, req(), { timeoutMs: 300, maxRetries: 0 });
    expect(res.intervalS).toBe(120);
  });

  it('ends with the tracker’s message on an error action', async () => {
    const t = await scriptedTracker((m, reply) => {
      if (m.action === 'connect') reply(encodeConnectResponse(m.transactionId, CID));
      else reply(encodeErrorResponse(m.transactionId, 'torrent unknown'));
    });
    const err = await announceUdp(t.url, req(), { timeoutMs: 300, maxRetries: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrackerError);
    expect((err as TrackerError).message).toMatch(/torrent unknown/);
    expect((err as TrackerError).byTracker).toBe(true);
  });

  it('treats a truncated answer as no answer and gives up after the retries', async () => {
    const t = await scriptedTracker((m, reply) => {
      if (m.action === 'connect') reply(encodeConnectResponse(m.transactionId, CID).subarray(0, 12));
    });
    const started = Date.now();
    const err = await announceUdp(t.url, req(), { timeoutMs: 50, maxRetries: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrackerError);
    expect((err as Error).message).toMatch(/3 tries/);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(t.received).toHaveLength(3);
  });

  it('reports stray bytes after the peer list as a warning, keeping the whole peers', async () => {
    const t = await scriptedTracker((m, reply) => {
      if (m.action === 'connect') reply(encodeConnectResponse(m.transactionId, CID));
      else if (m.action === 'announce') reply(encodeAnnounceResponse(m.transactionId, 60, 0, 0, Buffer.concat([peer, Buffer.from([1, 2, 3])])));
    });
    const res = await announceUdp(t.url, req(), { timeoutMs: 300, maxRetries: 0 });
    expect(res.peers).toEqual([{ host: '127.0.0.1', port: 6881 }]);
    expect(res.warning).toMatch(/3 stray bytes/);
  });

  it('fails fast when nothing listens on the port', async () => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const port = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    const started = Date.now();
    await expect(announceUdp(`udp://127.0.0.1:${port}`, req(), { timeoutMs: 1000, maxRetries: 3 })).rejects.toThrow(/unreachable|ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('rejects URLs that are not udp://host:port', async () => {
    await expect(announceUdp('udp://127.0.0.1', req())).rejects.toBeInstanceOf(TrackerError);
    await expect(announceUdp('http://127.0.0.1:80', req())).rejects.toBeInstanceOf(TrackerError);
    await expect(announceUdp('not a url', req())).rejects.toBeInstanceOf(TrackerError);
  });
});
