import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WireTap, type TapUnit } from '../../shape/wire-tap.js';
import { ByteQueue } from '../../shape/byte-queue.js';
import {
  encodeBitfield,
  encodeHandshake,
  encodeHave,
  encodePiece,
  encodeRequest,
  INTERESTED_BYTES,
  KEEP_ALIVE_BYTES,
  MsgId,
} from '../../datapath/wire/index.js';

const HS = encodeHandshake(Buffer.alloc(20, 1), Buffer.alloc(20, 2));

function chunked(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, buf.length]) {
    if (p > prev) out.push(buf.subarray(prev, p));
    prev = Math.max(prev, p);
  }
  return out;
}

const message = fc.oneof(
  fc.constant(KEEP_ALIVE_BYTES),
  fc.constant(INTERESTED_BYTES),
  fc.nat(10_000).map((i) => encodeHave(i)),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => encodeBitfield(b)),
  fc.tuple(fc.nat(100), fc.nat(20)).map(([i, b]) => encodeRequest(i, b * 16384, 16384)),
  fc.tuple(fc.nat(100), fc.integer({ min: 0, max: 20_000 })).map(([i, n]) => encodePiece(i, 0, Buffer.alloc(n, 7))),
);

describe('WireTap (passive reader)', () => {
  it('cuts a valid stream into the handshake and its messages, whatever the chunking (property)', () => {
    fc.assert(
      fc.property(fc.array(message, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 12 }), (msgs, cuts) => {
        const stream = Buffer.concat([HS, ...msgs]);
        const tap = new WireTap();
        const units: TapUnit[] = [];
        for (const c of chunked(stream, cuts)) tap.push(c, units);
        expect(tap.opaqueReason).toBeNull();
        expect(units.map((u) => u.bytes)).toEqual([68, ...msgs.map((m) => m.length)]);
        expect(units[0]!.kind).toBe('handshake');
        units.slice(1).forEach((u, i) => {
          expect(u.kind).toBe('message');
          if (u.kind === 'message' && u.msg.id === MsgId.Piece) expect(u.msg.block.length).toBe(msgs[i]!.length - 13);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('accounts for every byte of garbage, truncated or mixed streams: nothing lost, nothing thrown (property)', () => {
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 8 }),
        fc.uint8Array({ maxLength: 3000 }),
        fc.boolean(),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 12 }),
        (msgs, garbage, withHandshake, cut, cuts) => {
          const full = Buffer.concat([withHandshake ? HS : Buffer.alloc(0), ...msgs, garbage]);
          const stream = full.subarray(0, cut % (full.length + 1));
          const tap = new WireTap();
          const units: TapUnit[] = [];
          const raw = new ByteQueue();
          for (const c of chunked(stream, cuts)) {
            raw.push(c);
            tap.push(c, units);
          }
          const counted = units.reduce((a, u) => a + u.bytes, 0);
          expect(counted + tap.pending).toBe(stream.length);
          // The units' bytes, taken from the same queue in order, rebuild the stream exactly.
          const rebuilt = Buffer.concat(units.flatMap((u) => raw.take(u.bytes)));
          expect(rebuilt.equals(stream.subarray(0, counted))).toBe(true);
          if (tap.opaqueReason !== null) expect(tap.pending).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('turns opaque at the first violation and passes the rest in block-sized runs', () => {
    const tap = new WireTap();
    const units: TapUnit[] = [];
    tap.push(Buffer.concat([HS, INTERESTED_BYTES]), units);
    tap.push(Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.alloc(40_000)]), units);
    expect(tap.opaqueReason).toMatch(/exceeds the limit/);
    expect(units.map((u) => u.kind)).toEqual(['handshake', 'message', 'opaque', 'opaque', 'opaque']);
    expect(units.slice(2).map((u) => u.bytes)).toEqual([16384, 16384, 40_004 - 32768]);
    // An MSE key exchange is opaque from its first byte.
    const mse = new WireTap();
    const out: TapUnit[] = [];
    mse.push(Buffer.from([0x8a, 1, 2, 3]), out);
    expect(mse.opaqueReason).toMatch(/not a BitTorrent handshake/);
    expect(out).toEqual([{ kind: 'opaque', bytes: 4 }]);
  });
});
