// Property tests: random and truncated input to the client's parsers and to the server gives an error
// or a clean answer, never a crash or a hang.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import dgram from 'node:dgram';
import net from 'node:net';
import http from 'node:http';
import { BencodeError, decodeBencode, encodeBencode, type BencodeInput } from '../../datapath/bencode.js';
import { parseHttpAnnounceResponse } from '../../datapath/tracker/http-response.js';
import { TrackerError } from '../../datapath/tracker/tracker-error.js';
import { decodeClientMessage, decodeServerMessage, encodeConnectResponse } from '../../datapath/tracker/udp-messages.js';
import { announceUdp } from '../../datapath/tracker/udp.js';
import { announceHttp } from '../../datapath/tracker/http.js';
import { startTracker, type TrackerServer } from '../../tracker/server.js';
import { randomId } from './helpers.js';

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

/** Random bencodable values, biased towards tracker-looking keys. */
const bvalue: fc.Arbitrary<BencodeInput> = fc.letrec<{ v: BencodeInput }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.integer({ min: -1e6, max: 1e9 }),
    bytes(40),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(fc.constantFrom('interval', 'min interval', 'peers', 'peers6', 'complete', 'incomplete', 'failure reason', 'warning message', 'ip', 'port', 'tracker id'), fc.string({ maxLength: 8 })),
      tie('v'),
      { maxKeys: 6 },
    ),
  ),
})).v;

const validResponse = encodeBencode({
  interval: 60, 'min interval': 30, complete: 2, incomplete: 3,
  peers: Buffer.from([127, 0, 0, 1, 0x1a, 0xe1, 127, 0, 0, 2, 0x1a, 0xe2]),
});

function parsesOrTrackerError(body: Buffer): void {
  try {
    const r = parseHttpAnnounceResponse(body);
    expect(r.intervalS).toBeGreaterThan(0);
    for (const p of r.peers) expect(p.port).toBeGreaterThan(0);
  } catch (err) {
    expect(err).toBeInstanceOf(TrackerError);
  }
}

describe('client parsers', () => {
  it('decodeBencode: random bytes decode or give a BencodeError', () => {
    fc.assert(fc.property(bytes(200), (b) => {
      try {
        decodeBencode(b);
      } catch (err) {
        expect(err).toBeInstanceOf(BencodeError);
      }
    }), { numRuns: 2000 });
  });

  it('decodeBencode: the inputs that hang the bare bencode package end in an error', () => {
    for (const text of ['l-3:e', 'l1:x-3:e', 'd1:a-4:e', '-2:ab', `${'l'.repeat(10000)}`, '5:ab', 'i01e', 'i-0e']) {
      expect(() => decodeBencode(Buffer.from(text))).toThrow(BencodeError);
    }
  });

  it('decodeBencode: round-trips what encodeBencode encodes', () => {
    fc.assert(fc.property(bvalue, (v) => {
      const once = encodeBencode(v);
      expect(encodeBencode(decodeBencode(once))).toEqual(once);
    }), { numRuns: 500 });
  });

  it('HTTP announce responses: random bytes, random dictionaries and truncations never crash', () => {
    fc.assert(fc.property(bytes(300), (b) => parsesOrTrackerError(b)), { numRuns: 1000 });
    fc.assert(fc.property(bvalue, (v) => parsesOrTrackerError(encodeBencode(v))), { numRuns: 1000 });
    for (let n = 0; n < validResponse.length; n++) {
      expect(() => parseHttpAnnounceResponse(validResponse.subarray(0, n))).toThrow(TrackerError);
    }
    expect(parseHttpAnnounceResponse(validResponse).peers).toHaveLength(2);
  });

  it('UDP datagrams: random bytes decode to a message or null, both directions', () => {
    fc.assert(fc.property(bytes(150), (b) => {
      decodeServerMessage(b);
      decodeClientMessage(b);
    }), { numRuns: 3000 });
  });

  it('the UDP client, answered with garbage, fails with a TrackerError in bounded time', async () => {
    const s = dgram.createSocket('udp4');
    let answer = (_tid: Buffer): Buffer => Buffer.alloc(0);
    s.on('message', (msg, rinfo) => s.send(answer(msg.subarray(12, 16)), rinfo.port, rinfo.address));
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const url = `udp://127.0.0.1:${s.address().port}`;
    const req = { infoHash: randomId(), peerId: randomId(), port: 1, uploaded: 0, downloaded: 0, left: 0, event: '' as const, key: 1 };
    try {
      await fc.assert(fc.asyncProperty(bytes(60), fc.boolean(), async (junk, keepTid) => {
        // With keepTid the junk carries the right transaction id, so it reaches the checks after matching.
        answer = (tid) => (keepTid ? Buffer.concat([junk.subarray(0, 4), tid, junk.subarray(4)]) : junk);
        const started = Date.now();
        try {
          await announceUdp(url, { ...req, port: 1 + Math.floor(Math.random() * 60000) }, { timeoutMs: 20, maxRetries: 0 });
        } catch (err) {
          expect(err).toBeInstanceOf(TrackerError);
        }
        expect(Date.now() - started).toBeLessThan(1000);
      }), { numRuns: 60 });
      // A connect answer cut short is no answer.
      answer = (tid) => encodeConnectResponse(tid.readUInt32BE(0), Buffer.alloc(8)).subarray(0, 15);
      await expect(announceUdp(url, req, { timeoutMs: 20, maxRetries: 1 })).rejects.toBeInstanceOf(TrackerError);
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
});

describe('the server under garbage', () => {
  let tracker: TrackerServer;
  beforeAll(async () => {
    tracker = await startTracker({ intervalS: 30 });
  });
  afterAll(async () => {
    await tracker.close();
  });

  async function stillServes(): Promise<void> {
    const ih = randomId();
    const base = { infoHash: ih, uploaded: 0, downloaded: 0, left: 1, event: 'started' as const, key: 1 };
    await announceHttp(tracker.httpUrl, { ...base, peerId: randomId(), port: 5001 }, { timeoutMs: 2000 });
    const r = await announceUdp(tracker.udpUrl, { ...base, peerId: randomId(), port: 5002 }, { timeoutMs: 300, maxRetries: 2 });
    expect(r.peers).toEqual([{ host: '127.0.0.1', port: 5001 }]);
  }

  it('random UDP datagrams (and ones shaped like BEP 15 requests) are survived', async () => {
    const { port } = new URL(tracker.udpUrl);
    const s = dgram.createSocket('udp4');
    const magic = Buffer.from('0000041727101980', 'hex');
    await fc.assert(fc.asyncProperty(bytes(120), fc.integer({ min: 0, max: 4 }), async (junk, shape) => {
      const header = Buffer.alloc(16);
      header.writeUInt32BE(shape, 8);
      if (shape === 0) magic.copy(header, 0);
      const msg = shape === 4 ? junk : Buffer.concat([header, junk]);
      await new Promise<void>((r) => s.send(msg, Number(port), '127.0.0.1', () => r()));
    }), { numRuns: 500 });
    await new Promise<void>((r) => s.close(() => r()));
    await stillServes();
  });

  it('random bytes on the HTTP port and random announce queries are survived', async () => {
    const { port } = new URL(tracker.httpUrl);
    await fc.assert(fc.asyncProperty(bytes(200), async (junk) => {
      await new Promise<void>((resolve) => {
        const sock = net.connect(Number(port), '127.0.0.1', () => sock.end(junk));
        sock.on('data', () => {});
        sock.on('error', () => resolve());
        sock.on('close', () => resolve());
        sock.setTimeout(2000, () => sock.destroy());
      });
    }), { numRuns: 60 });
    const queryPart = fc.stringMatching(/^[A-Za-z0-9_%=&+.-]{0,120}$/);
    await fc.assert(fc.asyncProperty(queryPart, async (q) => {
      const { status, body } = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
        http.get(`${tracker.httpUrl}?${q}`, { agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        }).on('error', reject);
      });
      expect([200, 400]).toContain(status);
      if (status === 200) expect(() => decodeBencode(body)).not.toThrow();
    }), { numRuns: 200 });
    await stillServes();
  });
});
