// Random, truncated and mutated bencode / metainfo bytes: always a MetainfoError or a valid result, never
// another exception, a crash or a hang.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BencodeError, decodeBencode, encodeBencode, type BencodeInput } from '../../datapath/bencode.js';
import { MetainfoError, parseMetainfo, type Metainfo } from '../../datapath/metainfo/metainfo.js';
import { multiFileTorrent, patternBytes, singleFileTorrent } from './build-torrent.js';

function parseOrError(buf: Uint8Array): Metainfo | MetainfoError {
  try {
    return parseMetainfo(buf);
  } catch (err) {
    if (err instanceof MetainfoError) return err;
    throw err; // anything else fails the property
  }
}

const validTorrents: Buffer[] = [
  singleFileTorrent('one.bin', patternBytes(50000, 3), 16384, { 'announce-list': [['udp://127.0.0.1:1/a']], comment: 'hi' }),
  multiFileTorrent('pack', [
    { path: ['a'], data: patternBytes(100, 4) },
    { path: ['d', 'b'], data: patternBytes(40000, 5) },
    { path: ['d', 'e'], data: Buffer.alloc(0) },
  ], 16384),
];

/** Bencode-able values, for round trips. */
const bencodeValue: fc.Arbitrary<BencodeInput> = fc.letrec<{ value: BencodeInput }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -1e12, max: 1e12 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: 'grapheme-ascii', maxLength: 8 }), tie('value'), { maxKeys: 5 }),
  ),
})).value;

describe('bencode and metainfo under random input', () => {
  it('random bytes give MetainfoError or a valid torrent', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        parseOrError(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('bencode-alphabet noise (the bytes that drive the parser) never crashes or hangs', () => {
    const alphabet = fc.constantFrom(...'dlie0123456789:-'.split('').map((c) => c.charCodeAt(0)));
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 300 }), (codes) => {
        const buf = Uint8Array.from(codes);
        parseOrError(buf);
        try {
          decodeBencode(buf);
        } catch (err) {
          expect(err).toBeInstanceOf(BencodeError);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('every truncation of a valid torrent is refused with MetainfoError', () => {
    for (const torrent of validTorrents) {
      expect(parseOrError(torrent)).not.toBeInstanceOf(MetainfoError);
      for (let cut = 0; cut < torrent.length; cut++) {
        expect(parseOrError(torrent.subarray(0, cut))).toBeInstanceOf(MetainfoError);
      }
    }
  });

  it('mutated valid torrents give MetainfoError or a torrent whose invariants hold', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...validTorrents),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (torrent, edits) => {
          const buf = Buffer.from(torrent);
          for (const [at, byte] of edits) buf[at % buf.length] = byte;
          const result = parseOrError(buf);
          if (result instanceof MetainfoError) return;
          expect(result.pieceHashes.length).toBe(result.pieceCount * 20);
          expect(result.pieceCount).toBe(Math.ceil(result.totalBytes / result.pieceLength));
          expect(result.files.reduce((n, f) => n + f.length, 0)).toBe(result.totalBytes);
          for (const f of result.files) for (const c of f.path) expect(c === '' || c === '..' || c.includes('/')).toBe(false);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('encode then decode gives the value back', () => {
    fc.assert(
      fc.property(bencodeValue, (value) => {
        const bytes = encodeBencode(value);
        expect(encodeBencode(decodeBencode(bytes) as BencodeInput).equals(bytes)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
