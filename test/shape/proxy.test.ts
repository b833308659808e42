// The shaping proxy in-process, with real sockets on 127.0.0.1 playing the client and the peer.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { ShapingProxy, type ShapeProxyOptions } from '../../shape/proxy.js';
import { encodeRequest as socksRequest, Reply } from '../../shape/socks5-parser.js';
import {
  encodeBitfield,
  encodeCancel,
  encodeHandshake,
  encodePiece,
  encodeRequest,
  INTERESTED_BYTES,
  UNCHOKE_BYTES,
} from '../../datapath/wire/index.js';
import { FLOW } from '../../datapath/program/schema.js';
import {
  RecordingSink,
  SocksReplyError,
  connectTcp,
  listenLoopback,
  readExactly,
  readUntilClose,
  socksConnect,
  waitFor,
  type Listener,
} from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function proxy(opts: Partial<ShapeProxyOptions> = {}): Promise<ShapingProxy> {
  const p = await ShapingProxy.start({ socks: { host: '127.0.0.1', port: 0 }, log: () => {}, ...opts });
  cleanups.push(() => p.close());
  return p;
}

async function server(host = '127.0.0.1'): Promise<Listener> {
  const l = await listenLoopback(host);
  cleanups.push(() => l.close());
  return l;
}

function track(s: Socket): Socket {
  cleanups.push(() => void s.destroy());
  return s;
}

const INFO_HASH = Buffer.alloc(20, 0xab);
const CLIENT_ID = Buffer.from('-CL0001-aaaaaaaaaaaa');
const PEER_ID = Buffer.from('-PE0001-bbbbbbbbbbbb');
const BLOCK = 16 * 1024;

/** A client and a peer joined through the proxy's SOCKS listener, handshakes exchanged. */
async function btPair(p: ShapingProxy, peerListener: Listener): Promise<{ client: Socket; peer: Socket }> {
  const client = track(await socksConnect(p.socksAddress!.port, socksRequest(1, '127.0.0.1', peerListener.port)));
  const peer = track(await peerListener.accepted());
  client.write(encodeHandshake(INFO_HASH, CLIENT_ID));
  expect(await readExactly(peer, 68)).toEqual(encodeHandshake(INFO_HASH, CLIENT_ID));
  peer.write(encodeHandshake(INFO_HASH, PEER_ID));
  expect(await readExactly(client, 68)).toEqual(encodeHandshake(INFO_HASH, PEER_ID));
  return { client, peer };
}

describe('SOCKS5 listener', () => {
  it('tunnels bytes both ways to IPv4, domain and IPv6 targets', async () => {
    const p = await proxy();
    const targets: [string, Listener][] = [
      ['127.0.0.1', await server()],
      ['localhost', await server('127.0.0.1')],
    ];
    try {
      targets.push(['::1', await server('::1')]);
    } catch {
      // no IPv6 loopback on this machine: the IPv4 and domain cases still run
    }
    for (const [host, l] of targets) {
      const c = track(await socksConnect(p.socksAddress!.port, socksRequest(1, host, l.port)));
      const s = await l.accepted();
      const up = randomBytes(100_000);
      const down = randomBytes(70_000);
      c.write(up);
      s.write(down);
      expect((await readExactly(s, up.length)).equals(up)).toBe(true);
      expect((await readExactly(c, down.length)).equals(down)).toBe(true);
    }
  });

  it('requires username/password when configured', async () => {
    const p = await proxy({ credentials: { user: 'alice', password: 'pw' } });
    const l = await server();
    const ok = track(await socksConnect(p.socksAddress!.port, socksRequest(1, '127.0.0.1', l.port), { user: 'alice', password: 'pw' }));
    ok.write('hi');
    expect((await readExactly(await l.accepted(), 2)).toString()).toBe('hi');
    await expect(socksConnect(p.socksAddress!.port, socksRequest(1, '127.0.0.1', l.port), { user: 'alice', password: 'nope' })).rejects.toMatchObject({ code: 0x101 });
    await expect(socksConnect(p.socksAddress!.port, socksRequest(1, '127.0.0.1', l.port))).rejects.toMatchObject({ code: 0xff });
    expect(p.totals.socksFailures).toBe(2);
  });

  it('answers bad requests with the proper reply codes', async () => {
    const p = await proxy();
    const l = await server();
    const port = p.socksAddress!.port;
    await expect(socksConnect(port, socksRequest(2, '127.0.0.1', l.port))).rejects.toMatchObject({ code: Reply.CommandNotSupported });
    await expect(socksConnect(port, Buffer.from([5, 1, 0, 9, 0, 0]))).rejects.toMatchObject({ code: Reply.AddressTypeNotSupported });
    const closed = await server();
    const deadPort = closed.port;
    await closed.close();
    await expect(socksConnect(port, socksRequest(1, '127.0.0.1', deadPort))).rejects.toMatchObject({ code: Reply.ConnectionRefused });
    await expect(socksConnect(port, socksRequest(1, '127.0.0.1', 0))).rejects.toBeInstanceOf(SocksReplyError);
  });

  it('survives hang-ups mid-message, garbage and silence without disturbing a live tunnel', async () => {
    const p = await proxy({ handshakeTimeoutMs: 500 });
    const l = await server();
    const live = track(await socksConnect(p.socksAddress!.port, socksRequest(1, '127.0.0.1', l.port)));
    const liveServer = await l.accepted();
    const port = p.socksAddress!.port;
    // Hang up inside the greeting, inside the request, and after garbage.
    const a = await connectTcp(port);
    a.end(Buffer.from([5, 2, 0]));
    const b = await connectTcp(port);
    b.write(Buffer.from([5, 1, 0]));
    await readExactly(b, 2);
    b.end(Buffer.from([5, 1, 0, 1, 127]));
    const g = await connectTcp(port);
    g.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await readUntilClose(g)).length).toBe(0);
    const silent = await connectTcp(port);
    await readUntilClose(silent, 5000); // the handshake timeout closes it
    const huge = await connectTcp(port);
    huge.write(Buffer.from([5, 255, ...new Array(255).fill(7)]));
    await readUntilClose(huge);
    // The live tunnel still works.
    const data = randomBytes(50_000);
    live.write(data);
    expect((await readExactly(liveServer, data.length)).equals(data)).toBe(true);
    await waitFor(() => p.totals.socksFailures >= 5, 'failures counted');
  });
});

describe('BitTorrent-aware relaying', () => {
  it('reads the wire as it passes: flow info, stats and events, bytes unaltered', async () => {
    const p = await proxy();
    const sink = new RecordingSink();
    p.setFlowSink(sink);
    const l = await server();
    const { client, peer } = await btPair(p, l);
    await waitFor(() => sink.opened.length === 1, 'flow opened');
    const flow = sink.opened[0]!;
    expect(flow.info.infoHash.equals(INFO_HASH)).toBe(true);
    expect(flow.info.peerId.equals(PEER_ID)).toBe(true);
    expect(flow.info.peerPort).toBe(l.port);

    const bits = Buffer.from([0b11110000]);
    const clientMsgs = Buffer.concat([encodeBitfield(Buffer.from([0xff])), INTERESTED_BYTES, encodeRequest(1, 0, BLOCK)]);
    client.write(clientMsgs);
    expect((await readExactly(peer, clientMsgs.length)).equals(clientMsgs)).toBe(true);
    const block = randomBytes(BLOCK);
    const peerMsgs = Buffer.concat([encodeBitfield(bits), UNCHOKE_BYTES, encodeRequest(2, 0, BLOCK), encodePiece(1, 0, block)]);
    // Split the peer's bytes at odd places: the reader must not care.
    const cuts = [0, 3, 20, 1000, peerMsgs.length];
    for (let i = 1; i < cuts.length; i++) peer.write(peerMsgs.subarray(cuts[i - 1], cuts[i]));
    expect((await readExactly(client, peerMsgs.length)).equals(peerMsgs)).toBe(true);
    const answer = encodePiece(2, 0, randomBytes(BLOCK));
    client.write(answer);
    expect((await readExactly(peer, answer.length)).equals(answer)).toBe(true);

    await waitFor(() => sink.events.some((e) => e.sent === BLOCK), 'sent event');
    const recv = sink.events.find((e) => e.recv === BLOCK)!;
    expect(recv.latencyUs).toBeGreaterThan(0);
    expect(sink.events.some((e) => e.requested === 1)).toBe(true);
    expect(sink.events.some((e) => e.stateChange === 1)).toBe(true);
    const s = flow.stats;
    expect(s[FLOW.bytes_recv]).toBe(BLOCK);
    expect(s[FLOW.bytes_sent]).toBe(BLOCK);
    expect(s[FLOW.peer_pieces]).toBe(4);
    expect(s[FLOW.peer_choking]).toBe(0);
    expect(s[FLOW.am_interested]).toBe(1);
    expect(s[FLOW.outstanding]).toBe(0);
    expect(s[FLOW.rtt_us]).toBeGreaterThan(0);
    expect([...p.liveFlows()]).toHaveLength(1);
    client.destroy();
    await waitFor(() => sink.closed.length === 1, 'flow closed');
    expect([...p.liveFlows()]).toHaveLength(0);
  });

  it('passes a peer that sends garbage through as an opaque flow; other flows are unaffected', async () => {
    const p = await proxy();
    const sink = new RecordingSink();
    p.setFlowSink(sink);
    const l = await server();
    const good = await btPair(p, l);
    const bad = await btPair(p, l);
    const garbage = Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff]), randomBytes(40_000)]);
    bad.peer.write(garbage);
    expect((await readExactly(bad.client, garbage.length)).equals(garbage)).toBe(true);
    await waitFor(() => p.allFlows().some((f) => f.opaqueReason !== null), 'opaque flow');
    // An encrypted-looking client (no handshake at all) is opaque from the start, and still relayed.
    const mse = track(await socksConnect(p.socksAddress!.port, socksRequest(1, '127.0.0.1', l.port)));
    const mseServer = track(await l.accepted());
    const dh = randomBytes(96 + 300);
    mse.write(dh);
    expect((await readExactly(mseServer, dh.length)).equals(dh)).toBe(true);
    await waitFor(() => p.allFlows().filter((f) => f.kind === 'opaque').length === 1, 'opaque mse flow');
    const piece = encodePiece(0, 0, randomBytes(BLOCK));
    good.client.write(piece);
    expect((await readExactly(good.peer, piece.length)).equals(piece)).toBe(true);
    expect(sink.opened).toHaveLength(3);
  });
});

describe('enforcement', () => {
  it('holds a per-flow upload Rate within 3%, payload-accurate', async () => {
    const p = await proxy();
    const sink = new RecordingSink();
    p.setFlowSink(sink);
    const l = await server();
    const { client, peer } = await btPair(p, l);
    await waitFor(() => sink.opened.length === 1, 'flow');
    const rate = 500_000;
    sink.opened[0]!.applyControls({ rateBps: rate, choke: false, window: 0, rateInBps: 0 });
    expect(sink.opened[0]!.externallyControlled).toBe(true);
    // The client answers at once with many blocks; the proxy paces them.
    const blocks = 160;
    const block = randomBytes(BLOCK);
    for (let i = 0; i < blocks; i++) client.write(encodePiece(i, 0, block));
    const times: number[] = [];
    let got = 0;
    const msgLen = BLOCK + 13;
    await new Promise<void>((resolve) => {
      peer.on('data', (c: Buffer) => {
        const before = Math.floor(got / msgLen);
        got += c.length;
        const after = Math.floor(got / msgLen);
        for (let i = before; i < after; i++) times.push(performance.now());
        if (after >= blocks) resolve();
      });
      peer.resume();
    });
    // The first block goes at once (the burst); the rest arrive at the rate.
    const measured = ((blocks - 1) * BLOCK) / ((times[blocks - 1]! - times[0]!) / 1000);
    expect(Math.abs(measured / rate - 1), `measured ${measured.toFixed(0)} B/s`).toBeLessThan(0.03);
    // Back to the static policy: no cap.
    sink.opened[0]!.releaseControls();
    expect(sink.opened[0]!.externallyControlled).toBe(false);
  }, 30_000);

  it('Choke holds the peer\'s requests; unchoke releases them byte-identical; a cancel removes a held one', async () => {
    const p = await proxy();
    const sink = new RecordingSink();
    p.setFlowSink(sink);
    const l = await server();
    const { client, peer } = await btPair(p, l);
    await waitFor(() => sink.opened.length === 1, 'flow');
    const flow = sink.opened[0]!;
    flow.applyControls({ rateBps: 0, choke: true, window: 0, rateInBps: 0 });
    const reqs = [encodeRequest(0, 0, BLOCK), encodeRequest(0, BLOCK, BLOCK), encodeRequest(1, 0, BLOCK)];
    peer.write(Buffer.concat([...reqs, encodeCancel(0, BLOCK, BLOCK), INTERESTED_BYTES]));
    // The interested message passes; the requests do not.
    expect((await readExactly(client, 5)).equals(INTERESTED_BYTES)).toBe(true);
    await waitFor(() => flow.stats[FLOW.am_choking] === 1, 'am_choking');
    const early: Buffer[] = [];
    client.on('data', (c: Buffer) => early.push(c));
    await new Promise((r) => setTimeout(r, 200));
    client.removeAllListeners('data');
    expect(Buffer.concat(early).length).toBe(0);
    expect(flow.stats[FLOW.peer_requests]).toBe(2);
    flow.applyControls({ rateBps: 0, choke: false, window: 0, rateInBps: 0 });
    const released = await readExactly(client, 34);
    expect(released.equals(Buffer.concat([reqs[0]!, reqs[2]!]))).toBe(true);
    // Agent gone: the static policy takes over and lets held requests go.
    flow.applyControls({ rateBps: 0, choke: true, window: 0, rateInBps: 0 });
    const more = encodeRequest(7, 0, BLOCK);
    peer.write(more);
    await waitFor(() => flow.stats[FLOW.peer_requests]! >= 3, 'held again');
    flow.releaseControls();
    expect((await readExactly(client, 17)).equals(more)).toBe(true);
    expect(flow.externallyControlled).toBe(false);
  });

  it('Window bounds the client\'s requests in flight; blocks coming back release more', async () => {
    const p = await proxy();
    const sink = new RecordingSink();
    p.setFlowSink(sink);
    const l = await server();
    const { client, peer } = await btPair(p, l);
    await waitFor(() => sink.opened.length === 1, 'flow');
    const flow = sink.opened[0]!;
    flow.applyControls({ rateBps: 0, choke: false, window: 2, rateInBps: 0 });
    const reqs = [0, 1, 2, 3, 4].map((i) => encodeRequest(i, 0, BLOCK));
    client.write(Buffer.concat(reqs));
    expect((await readExactly(peer, 34)).equals(Buffer.concat(reqs.slice(0, 2)))).toBe(true);
    await waitFor(() => flow.stats[FLOW.outstanding] === 2, 'outstanding 2');
    peer.write(encodePiece(0, 0, randomBytes(BLOCK)));
    expect((await readExactly(peer, 17)).equals(reqs[2]!)).toBe(true);
    // Removing the window lets the rest go.
    flow.releaseControls();
    expect((await readExactly(peer, 34)).equals(Buffer.concat(reqs.slice(3)))).toBe(true);
  });

  it('total caps bind every flow together, BitTorrent or not', async () => {
    const p = await proxy({ maxDownBps: 400_000 });
    const l = await server();
    const a = track(await socksConnect(p.socksAddress!.port, socksRequest(1, '127.0.0.1', l.port)));
    const as = track(await l.accepted());
    const b = track(await socksConnect(p.socksAddress!.port, socksRequest(1, '127.0.0.1', l.port)));
    const bs = track(await l.accepted());
    const total = 1_200_000;
    const t0 = performance.now();
    as.write(randomBytes(total / 2));
    bs.write(randomBytes(total / 2));
    await Promise.all([readExactly(a, total / 2), readExactly(b, total / 2)]);
    const seconds = (performance.now() - t0) / 1000;
    // One burst of credit per bucket may go at once; the rest at the cap.
    expect((total - 2 * BLOCK) / seconds).toBeLessThan(400_000 * 1.03);
    expect(total / seconds).toBeGreaterThan(400_000 * 0.9);
  }, 20_000);
});

describe('forward listeners', () => {
  it('relays incoming peers to the client and reports them as flows', async () => {
    const clientListener = await server();
    const p = await proxy({ socks: null, forwards: [{ listenHost: '127.0.0.1', listenPort: 0, clientHost: '127.0.0.1', clientPort: clientListener.port }] });
    const sink = new RecordingSink();
    p.setFlowSink(sink);
    const fwd = p.forwardAddresses[0]!;
    const peer = track(await connectTcp(fwd.port));
    const client = track(await clientListener.accepted());
    peer.write(encodeHandshake(INFO_HASH, PEER_ID));
    expect((await readExactly(client, 68)).equals(encodeHandshake(INFO_HASH, PEER_ID))).toBe(true);
    client.write(encodeHandshake(INFO_HASH, CLIENT_ID));
    await readExactly(peer, 68);
    await waitFor(() => sink.opened.length === 1, 'flow');
    expect(sink.opened[0]!.info.peerHost).toBe('127.0.0.1');
    expect(sink.opened[0]!.info.peerId.equals(PEER_ID)).toBe(true);
    // A forward to a client that is not there drops the peer, and counts it.
    await clientListener.close();
    const orphan = await connectTcp(fwd.port);
    await readUntilClose(orphan);
    expect(p.totals.forwardFailures).toBe(1);
  });
});
