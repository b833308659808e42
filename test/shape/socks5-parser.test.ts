import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  AddrType,
  Reply,
  Socks5Error,
  encodeReply,
  encodeRequest,
  parseGreeting,
  parseRequest,
  parseUserPass,
} from '../../shape/socks5-parser.js';
import { parseForwardSpec } from '../../shape/forward-spec.js';

describe('SOCKS5 parsing', () => {
  it('parses greetings, waiting for the whole message', () => {
    expect(parseGreeting(Buffer.from([5]))).toBeNull();
    expect(parseGreeting(Buffer.from([5, 2, 0]))).toBeNull();
    expect(parseGreeting(Buffer.from([5, 2, 0, 2, 99]))).toEqual({ value: [0, 2], used: 4 });
    expect(() => parseGreeting(Buffer.from([4, 1, 0]))).toThrow(/version byte 4/);
    expect(() => parseGreeting(Buffer.from([5, 0]))).toThrow(/no authentication method/);
  });

  it('parses username/password (RFC 1929)', () => {
    const msg = Buffer.concat([Buffer.from([1, 3]), Buffer.from('bob'), Buffer.from([6]), Buffer.from('s3cret')]);
    expect(parseUserPass(msg)).toEqual({ value: { user: 'bob', password: 's3cret' }, used: msg.length });
    for (let n = 0; n < msg.length; n++) expect(parseUserPass(msg.subarray(0, n))).toBeNull();
    expect(() => parseUserPass(Buffer.from([2, 0, 0]))).toThrow(/auth version 2/);
  });

  it('round-trips CONNECT requests for IPv4, IPv6 and domain names', () => {
    for (const [host, atyp] of [
      ['127.0.0.1', AddrType.IPv4],
      ['::1', AddrType.IPv6],
      ['2001:db8::ff00:42:8329', AddrType.IPv6],
      ['fe80::', AddrType.IPv6],
      ['peer.example.org', AddrType.Domain],
    ] as const) {
      const req = encodeRequest(1, host, 6881);
      const p = parseRequest(req);
      expect(p).toEqual({ value: { command: 1, addrType: atyp, host, port: 6881 }, used: req.length });
      // Every truncation asks for more bytes; trailing bytes are left for the caller.
      for (let n = 0; n < req.length; n++) expect(parseRequest(req.subarray(0, n))).toBeNull();
      expect(parseRequest(Buffer.concat([req, Buffer.from([19])]))!.used).toBe(req.length);
    }
  });

  it('names bad requests and picks the reply code', () => {
    const bad = (b: number[]): Socks5Error => {
      try {
        parseRequest(Buffer.from(b));
      } catch (err) {
        if (err instanceof Socks5Error) return err;
        throw err;
      }
      throw new Error('no error');
    };
    expect(bad([5, 1, 0, 9, 1, 2, 3, 4, 0, 80]).reply).toBe(Reply.AddressTypeNotSupported);
    expect(bad([5, 1, 0, 3, 0, 0, 80]).reply).toBe(Reply.HostUnreachable);
    expect(bad([5, 1, 7, 1]).message).toMatch(/reserved byte 7/);
    expect(bad([5, 1, 0, 3, 2, 0x0a, 0x0d, 0, 80]).message).toMatch(/invalid host/);
  });

  it('encodes replies with the bound address', () => {
    expect([...encodeReply(Reply.Succeeded, '127.0.0.1', 0x1234)]).toEqual([5, 0, 0, 1, 127, 0, 0, 1, 0x12, 0x34]);
    expect([...encodeReply(Reply.ConnectionRefused)]).toEqual([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(encodeReply(Reply.Succeeded, '::1', 1).length).toBe(22);
  });

  it('random and truncated input gives null, a value or a Socks5Error, never a crash (property)', () => {
    const anyRequest = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 65535 })).map(([h, p]) => new Uint8Array(encodeRequest(1, h, p))),
      fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 65535 })).map(([h, p]) => new Uint8Array(encodeRequest(1, h, p))),
      fc.tuple(fc.domain(), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => new Uint8Array(encodeRequest(1, h.slice(0, 255), p))),
    );
    fc.assert(
      fc.property(anyRequest, fc.nat(), fc.nat(), (bytes, cut, flip) => {
        const variants = [bytes, bytes.subarray(0, cut % (bytes.length + 1))];
        if (bytes.length > 0) {
          const m = new Uint8Array(bytes);
          m[flip % m.length] = (m[flip % m.length]! + 1 + (flip % 255)) & 0xff;
          variants.push(m);
        }
        for (const v of variants) {
          for (const parse of [parseGreeting, parseUserPass, parseRequest] as const) {
            try {
              const r = parse(v);
              if (r !== null) expect(r.used).toBeLessThanOrEqual(v.length);
            } catch (err) {
              expect(err).toBeInstanceOf(Socks5Error);
            }
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes IPv6 addresses to the same address (property)', () => {
    fc.assert(
      fc.property(fc.ipV6(), (host) => {
        const p = parseRequest(encodeRequest(1, host, 1))!;
        expect(Buffer.compare(encodeRequest(1, p.value.host, 1), encodeRequest(1, host, 1))).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
});

describe('--forward specs', () => {
  it('parses short and full forms and rejects bad ones', () => {
    expect(parseForwardSpec('6881:127.0.0.1:6882', '127.0.0.1')).toEqual({ listenHost: '127.0.0.1', listenPort: 6881, clientHost: '127.0.0.1', clientPort: 6882 });
    expect(parseForwardSpec('0.0.0.0:6881:[::1]:6882', '127.0.0.1')).toEqual({ listenHost: '0.0.0.0', listenPort: 6881, clientHost: '::1', clientPort: 6882 });
    expect(() => parseForwardSpec('6881', 'x')).toThrow(/invalid --forward '6881'/);
    expect(() => parseForwardSpec('6881:h:0', 'x')).toThrow(/client port cannot be 0/);
    expect(() => parseForwardSpec('70000:h:1', 'x')).toThrow(/invalid port/);
  });
});
