// The engine's parser mode: split piece messages share one reused buffer. A consumer that copies each
// block at once must see exactly the bytes sent, however the stream is chunked.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MsgId, WireParser, encodeHave, encodePiece, encodeRequest } from '../../datapath/wire/index.js';

describe('WireParser transientSplitPieces', () => {
  it('delivers every block intact under random chunking when blocks are copied at once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ index: fc.nat(1000), size: fc.integer({ min: 0, max: 20_000 }), seed: fc.nat(255) }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 1, maxLength: 30 }),
        (pieces, cuts) => {
          const msgs: Buffer[] = [];
          const want: string[] = [];
          for (const p of pieces) {
            const block = Buffer.alloc(p.size, p.seed);
            if (p.size > 0) block[p.size - 1] = (p.seed + 1) & 0xff;
            msgs.push(encodePiece(p.index, 0, block), encodeHave(p.index), encodeRequest(p.index, 0, 16384));
            want.push(`${p.index}:${block.toString('hex')}`, `have ${p.index}`, `req ${p.index}`);
          }
          const stream = Buffer.concat(msgs);
          const parser = new WireParser({ handshake: false, transientSplitPieces: true });
          const got: string[] = [];
          let at = 0;
          for (let k = 0; at < stream.length; k++) {
            const n = cuts[k % cuts.length]!;
            // Each chunk is its own buffer, as sockets deliver them.
            parser.push(Buffer.from(stream.subarray(at, at + n)));
            at += n;
            for (let m = parser.next(); m; m = parser.next()) {
              if (m.id === 'handshake') throw new Error('no handshake expected');
              if (m.id === MsgId.Piece) got.push(`${m.index}:${Buffer.from(m.block).toString('hex')}`);
              else if (m.id === MsgId.Have) got.push(`have ${m.index}`);
              else if (m.id === MsgId.Request) got.push(`req ${m.index}`);
            }
          }
          expect(got).toEqual(want);
          expect(parser.buffered).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('release() keeps an unfinished message intact while the read buffer is reused (sockets read into one shared buffer)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ index: fc.nat(1000), size: fc.integer({ min: 0, max: 40_000 }), seed: fc.nat(255) }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 30 }),
        (pieces, cuts) => {
          const msgs: Buffer[] = [];
          const want: string[] = [];
          for (const p of pieces) {
            const block = Buffer.alloc(p.size, p.seed);
            if (p.size > 0) block[0] = (p.seed + 7) & 0xff;
            msgs.push(encodeHave(p.index), encodePiece(p.index, 0, block));
            want.push(`have ${p.index}`, `${p.index}:${block.toString('hex')}`);
          }
          const stream = Buffer.concat(msgs);
          const parser = new WireParser({ handshake: false, transientSplitPieces: true });
          // One buffer for every read, scribbled over after each, as the shared socket buffer is.
          const shared = Buffer.alloc(70_000);
          const got: string[] = [];
          let at = 0;
          for (let k = 0; at < stream.length; k++) {
            const n = Math.min(cuts[k % cuts.length]!, stream.length - at);
            stream.copy(shared, 0, at, at + n);
            at += n;
            parser.push(shared.subarray(0, n));
            for (let m = parser.next(); m; m = parser.next()) {
              if (m.id === MsgId.Piece) got.push(`${m.index}:${Buffer.from(m.block).toString('hex')}`);
              else if (m.id === MsgId.Have) got.push(`have ${m.index}`);
            }
            parser.release();
            shared.fill(0xee);
          }
          expect(got).toEqual(want);
          expect(parser.buffered).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
