import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CHOKE_BYTES, HAVE_ALL_BYTES, KEEP_ALIVE, KEEP_ALIVE_BYTES, MsgId, UNKNOWN, WireError, WireParser,
  encodeBitfield, encodeCancel, encodeExtended, encodeExtensionHandshake, encodeHandshake, encodeHave,
  encodePiece, encodePieceHeader, encodeReject, encodeRequest, encodeRequests, parseExtensionHandshake, parseHandshake, type ParsedItem,
} from '../../datapath/wire/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function parseAll(bytes: Buffer, handshake = false, chunk = bytes.length): ParsedItem[] {
  const p = new WireParser({ handshake });
  const out: ParsedItem[] = [];
  for (let i = 0; i < bytes.length; i += Math.max(1, chunk)) {
    p.push(bytes.subarray(i, i + chunk));
    for (let m = p.next(); m; m = p.next()) out.push(m);
  }
  return out;
}

describe('wire codec golden bytes', () => {
  it('encodes BEP 3 / BEP 6 messages byte for byte', () => {
    expect(hex(KEEP_ALIVE_BYTES)).toBe('00000000');
    expect(hex(CHOKE_BYTES)).toBe('0000000100');
    expect(hex(HAVE_ALL_BYTES)).toBe('000000010e');
    expect(hex(encodeHave(0x01020304))).toBe('000000050401020304');
    expect(hex(encodeBitfield(Buffer.from([0xff, 0x80])))).toBe('0000000305ff80');
    expect(hex(encodeRequest(1, 0x4000, 0x4000))).toBe('0000000d06000000010000400000004000');
    expect(hex(encodeRequests([{ index: 0xfffffffe, begin: 0x4000, length: 0x4000 }, { index: 1, begin: 0, length: 7 }])))
      .toBe('0000000d06fffffffe0000400000004000' + '0000000d06000000010000000000000007');
    expect(hex(encodeCancel(1, 0, 16))).toBe('0000000d08000000010000000000000010');
    expect(hex(encodeReject(2, 0, 16))).toBe('0000000d10000000020000000000000010');
    expect(hex(encodePiece(3, 16, Buffer.from('abc')))).toBe('0000000c0700000003000000' + '10' + '616263');
    expect(hex(encodeExtended(0, Buffer.from('de')))).toBe('000000041400' + '6465');
  });

  it('encodes the handshake with the Fast and extension bits', () => {
    const ih = Buffer.alloc(20, 0xaa);
    const id = Buffer.alloc(20, 0xbb);
    const hs = encodeHandshake(ih, id);
    expect(hs.length).toBe(68);
    expect(hex(hs.subarray(0, 28))).toBe('13' + hex(Buffer.from('BitTorrent protocol')) + '0000000000100004');
    const parsed = parseHandshake(hs)!;
    expect(parsed.fast).toBe(true);
    expect(parsed.extensions).toBe(true);
    expect(parsed.infoHash.equals(ih)).toBe(true);
    expect(parsed.peerId.equals(id)).toBe(true);
  });

  it('round-trips every message through the parser, whole and byte by byte', () => {
    const ih = Buffer.alloc(20, 1);
    const stream = Buffer.concat([
      encodeHandshake(ih, Buffer.alloc(20, 2)), KEEP_ALIVE_BYTES, CHOKE_BYTES, encodeHave(7),
      encodeBitfield(Buffer.from([0xf0])), encodeRequest(1, 2, 3), encodePiece(4, 5, Buffer.alloc(100, 9)),
      encodeExtended(3, Buffer.from('xyz')), Buffer.from('0000000263ff', 'hex'),
    ]);
    for (const chunk of [stream.length, 1, 7, 33]) {
      const items = parseAll(stream, true, chunk);
      expect(items.map((m) => m.id)).toEqual(['handshake', KEEP_ALIVE, MsgId.Choke, MsgId.Have, MsgId.Bitfield, MsgId.Request, MsgId.Piece, MsgId.Extended, UNKNOWN]);
      const piece = items[6] as { index: number; begin: number; block: Buffer };
      expect([piece.index, piece.begin, piece.block.length, piece.block[99]]).toEqual([4, 5, 100, 9]);
      const req = items[5] as { index: number; begin: number; length: number };
      expect([req.index, req.begin, req.length]).toEqual([1, 2, 3]);
    }
  });

  it('names the problem on protocol violations', () => {
    expect(() => parseAll(Buffer.from('0000000304000001', 'hex'))).toThrow(/have message has length 3, expected 5/);
    expect(() => parseAll(Buffer.from('ffffffff00', 'hex'))).toThrow(/exceeds the limit/);
    expect(() => parseAll(Buffer.from('00000003070000', 'hex'))).toThrow(/piece message has length 3/);
    expect(() => parseAll(Buffer.from('GET / HTTP/1.1\r\n'), true)).toThrow(/not a BitTorrent handshake/);
  });

  it('parses extension handshakes defensively', () => {
    const mine = parseExtensionHandshake(encodeExtensionHandshake({ client: 'ccp-bt 0.1', reqq: 500, listenPort: 6881, m: { ut_pex: 1 } }));
    expect(mine.client).toBe('ccp-bt 0.1');
    expect(mine.reqq).toBe(500);
    expect(mine.listenPort).toBe(6881);
    expect(mine.m.get('ut_pex')).toBe(1);
    expect(() => parseExtensionHandshake(Buffer.from('li1ee'))).toThrow(WireError);
    expect(() => parseExtensionHandshake(Buffer.from('d1:m'))).toThrow(WireError);
    expect(parseExtensionHandshake(Buffer.from('d1:mi3e4:reqq3:abce')).reqq).toBeUndefined();
  });
});

describe('wire parser properties', () => {
  it('block references and piece headers round-trip for every uint32 field value', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(fc.array(fc.record({ index: u32, begin: u32, length: u32 }), { minLength: 1, maxLength: 8 }), u32, u32, (refs, index, begin) => {
        const batch = encodeRequests(refs);
        expect(hex(batch)).toBe(refs.map((r) => hex(encodeRequest(r.index, r.begin, r.length))).join(''));
        const parsed = parseAll(Buffer.concat([batch, encodePieceHeader(index, begin, 3), Buffer.from('abc')]));
        expect(parsed.slice(0, -1)).toEqual(refs.map((r) => ({ id: MsgId.Request, ...r })));
        expect(parsed.at(-1)).toMatchObject({ id: MsgId.Piece, index, begin });
      }),
    );
  });

  it('random bytes give messages or a WireError, never another exception or a hang', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), fc.integer({ min: 1, max: 50 }), (bytes, hs, chunk) => {
        try {
          parseAll(Buffer.from(bytes), hs, chunk);
        } catch (err) {
          expect(err).toBeInstanceOf(WireError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('takePiece() then next(), as the engine reads, gives the same messages and the same violation as next() alone', () => {
    /** Every message as [id, index, begin, block hex] (or the message itself), then the error text if one was thrown. */
    function read(bytes: Buffer, chunk: number, fast: boolean): unknown[] {
      const p = new WireParser({ handshake: false });
      const out: unknown[] = [];
      try {
        for (let i = 0; i < bytes.length; i += chunk) {
          p.push(bytes.subarray(i, i + chunk));
          for (;;) {
            if (fast && p.takePiece()) {
              out.push([MsgId.Piece, p.pieceIndex, p.pieceBegin, hex(p.pieceBlock)]);
              continue;
            }
            const m = p.next();
            if (m === null) break;
            out.push(m.id === MsgId.Piece ? [m.id, m.index, m.begin, hex(m.block)] : m);
          }
        }
      } catch (err) {
        out.push(String(err));
      }
      return out;
    }
    const message = fc.oneof(
      fc.record({ index: fc.nat(), begin: fc.nat(), block: fc.uint8Array({ maxLength: 40 }) }).map((m) => encodePiece(m.index, m.begin, m.block)),
      fc.nat(1000).map((i) => encodeHave(i)),
      fc.constant(KEEP_ALIVE_BYTES),
      fc.uint8Array({ minLength: 1, maxLength: 20 }).map((b) => Buffer.from(b)), // garbage: bad lengths, short pieces
    );
    fc.assert(
      fc.property(fc.array(message, { maxLength: 12 }), fc.integer({ min: 1, max: 64 }), (msgs, chunk) => {
        const bytes = Buffer.concat(msgs);
        expect(read(bytes, chunk, true)).toEqual(read(bytes, chunk, false));
      }),
      { numRuns: 1000 },
    );
  });

  it('truncated valid streams never yield a wrong message and never throw', () => {
    const stream = Buffer.concat([encodeHandshake(Buffer.alloc(20), Buffer.alloc(20)), encodeHave(1), encodeRequest(1, 2, 3), encodePiece(1, 0, Buffer.alloc(50))]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: stream.length }), (cut) => {
        const items = parseAll(stream.subarray(0, cut), true);
        const ends = [68, 77, 94, 157];
        expect(items.length).toBe(ends.filter((e) => e <= cut).length);
      }),
    );
  });

  it('random payloads to the handshake and extension parsers give errors, never crashes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        try {
          parseHandshake(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(WireError);
        }
        try {
          parseExtensionHandshake(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(WireError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('mutated extension handshakes never crash', () => {
    const base = encodeExtensionHandshake({ client: 'x', reqq: 5, m: { a: 1 } });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: base.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: base.length }), (pos, val, cut) => {
        const b = Buffer.from(base);
        b[pos] = val;
        try {
          parseExtensionHandshake(b.subarray(0, cut));
        } catch (err) {
          expect(err).toBeInstanceOf(WireError);
        }
      }),
    );
  });
});
