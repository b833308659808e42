import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBencode, encodeBencode, scanBencode } from '../../datapath/bencode.js';
import { MetainfoError, parseMetainfo, pieceLengthOf, readMetainfo } from '../../datapath/metainfo/metainfo.js';
import { multiFileTorrent, patternBytes, singleFileTorrent } from './build-torrent.js';

const PL = 16384;

describe('parseMetainfo', () => {
  it('reads a single-file torrent', () => {
    const data = patternBytes(40000, 1);
    const meta = parseMetainfo(singleFileTorrent('movie.bin', data, PL));
    expect(meta.name).toBe('movie.bin');
    expect(meta.multiFile).toBe(false);
    expect(meta.files).toEqual([{ path: ['movie.bin'], length: 40000, offset: 0 }]);
    expect(meta.pieceCount).toBe(3);
    expect(meta.lastPieceLength).toBe(40000 - 2 * PL);
    expect(meta.totalBytes).toBe(40000);
    expect(meta.pieceHashes.length).toBe(60);
    expect(pieceLengthOf(meta, 0)).toBe(PL);
    expect(pieceLengthOf(meta, 2)).toBe(40000 - 2 * PL);
    expect(() => pieceLengthOf(meta, 3)).toThrow(RangeError);
    expect(meta.announce).toEqual([['http://127.0.0.1:6969/announce']]);
    expect(meta.private).toBe(false);
  });

  it('reads a multi-file torrent with offsets, zero-length files and the private flag', () => {
    const buf = encodeBencode({
      info: {
        files: [
          { length: 10, path: ['a'] },
          { length: 0, path: ['dir', 'empty'] },
          { length: 20000, path: ['dir', 'b'] },
        ],
        name: 'pack',
        'piece length': PL,
        pieces: Buffer.alloc(40),
        private: 1,
      },
    });
    const meta = parseMetainfo(buf);
    expect(meta.multiFile).toBe(true);
    expect(meta.files.map((f) => [f.path.join('/'), f.offset, f.length])).toEqual([
      ['a', 0, 10],
      ['dir/empty', 10, 0],
      ['dir/b', 10, 20000],
    ]);
    expect(meta.private).toBe(true);
    expect(meta.announce).toEqual([]);
  });

  it('takes tiers from announce-list (BEP 12) over announce, skipping junk', () => {
    const buf = singleFileTorrent('x', Buffer.alloc(100), PL, {
      'announce-list': [['udp://127.0.0.1:1/a', 'http://127.0.0.1:2/a'], [], [5], ['http://127.0.0.1:3/a']],
    });
    expect(parseMetainfo(buf).announce).toEqual([['udp://127.0.0.1:1/a', 'http://127.0.0.1:2/a'], ['http://127.0.0.1:3/a']]);
  });

  it('hashes the info dictionary bytes as found, even when not canonically ordered', () => {
    // Keys out of order: re-encoding would sort them and give another hash.
    const info = Buffer.from(`d4:name1:x12:piece lengthi16384e6:lengthi5e6:pieces20:${'\0'.repeat(20)}e`, 'latin1');
    const buf = Buffer.concat([Buffer.from('d4:info'), info, Buffer.from('e')]);
    const meta = parseMetainfo(buf);
    expect(meta.infoHashHex).toBe(createHash('sha1').update(info).digest('hex'));
    const reencoded = encodeBencode(decodeBencode(info) as never);
    expect(createHash('sha1').update(reencoded).digest('hex')).not.toBe(meta.infoHashHex);
  });

  it('keeps non-UTF-8 names distinct (Latin-1 fallback) and prefers path.utf-8', () => {
    const bad1 = Uint8Array.from([0x66, 0xe9]); // "f\xe9" (Latin-1 é) is not UTF-8
    const bad2 = Uint8Array.from([0x66, 0xe8]);
    const meta = parseMetainfo(
      multiFileTorrent('n', [
        { path: [bad1], data: Buffer.alloc(3) },
        { path: [bad2], data: Buffer.alloc(3) },
      ], PL),
    );
    expect(meta.files[0]!.path[0]).toBe('f\u00e9');
    expect(meta.files[1]!.path[0]).toBe('f\u00e8');
    const withUtf8 = encodeBencode({
      info: { files: [{ length: 3, path: [bad1], 'path.utf-8': ['café'] }], name: 'n', 'piece length': PL, pieces: Buffer.alloc(20) },
    });
    expect(parseMetainfo(withUtf8).files[0]!.path).toEqual(['café']);
  });

  const unsafe: [string, (string | Uint8Array)[], RegExp][] = [
    ['dot-dot', ['..', 'etc', 'passwd'], /leaves the folder/],
    ['dot', ['.', 'x'], /leaves the folder/],
    ['empty component', ['a', '', 'b'], /empty path component/],
    ['absolute', ['/etc/passwd'], /path separator/],
    ['slash inside', ['a/../../b'], /path separator/],
    ['backslash inside', ['..\\..\\win.ini'], /path separator/],
    ['NUL', ['a\0b'], /NUL/],
    ['drive letter', ['C:', 'x'], /drive letter/],
    ['drive letter prefix', ['c:evil'], /drive letter/],
  ];
  for (const [label, path, reason] of unsafe) {
    it(`refuses an unsafe file path: ${label}`, () => {
      const buf = multiFileTorrent('ok', [{ path, data: Buffer.alloc(10) }], PL);
      expect(() => parseMetainfo(buf)).toThrow(MetainfoError);
      expect(() => parseMetainfo(buf)).toThrow(reason);
    });
  }

  for (const name of ['..', '.', '', '/abs', 'a/b', 'C:']) {
    it(`refuses an unsafe torrent name ${JSON.stringify(name)}`, () => {
      expect(() => parseMetainfo(singleFileTorrent(name, Buffer.alloc(10), PL))).toThrow(/unsafe torrent name/);
    });
  }

  it('refuses a file path used twice, or a file where another entry needs a folder', () => {
    const dup = multiFileTorrent('n', [{ path: ['a'], data: Buffer.alloc(1) }, { path: ['a'], data: Buffer.alloc(1) }], PL);
    expect(() => parseMetainfo(dup)).toThrow(/used twice/);
    const through = multiFileTorrent('n', [{ path: ['a'], data: Buffer.alloc(1) }, { path: ['a', 'b'], data: Buffer.alloc(1) }], PL);
    expect(() => parseMetainfo(through)).toThrow(/goes through the file/);
  });

  const broken: [string, () => Buffer, RegExp][] = [
    ['no info', () => encodeBencode({ announce: 'x' }), /no 'info'/],
    ['info not a dict', () => encodeBencode({ info: 5 }), /not a dictionary/],
    ['pieces not a multiple of 20', () => encodeBencode({ info: { length: 5, name: 'x', 'piece length': PL, pieces: Buffer.alloc(19) } }), /multiple of 20/],
    ['too few pieces', () => encodeBencode({ info: { length: PL + 1, name: 'x', 'piece length': PL, pieces: Buffer.alloc(20) } }), /expected 2/],
    ['too many pieces', () => encodeBencode({ info: { length: 5, name: 'x', 'piece length': PL, pieces: Buffer.alloc(40) } }), /expected 1/],
    ['zero piece length', () => encodeBencode({ info: { length: 5, name: 'x', 'piece length': 0, pieces: Buffer.alloc(20) } }), /piece length 0/],
    ['huge piece length', () => encodeBencode({ info: { length: 5, name: 'x', 'piece length': 2 ** 40, pieces: Buffer.alloc(20) } }), /piece length/],
    ['negative length', () => encodeBencode({ info: { length: -5, name: 'x', 'piece length': PL, pieces: Buffer.alloc(20) } }), /negative/],
    ['empty torrent', () => encodeBencode({ info: { length: 0, name: 'x', 'piece length': PL, pieces: Buffer.alloc(0) } }), /no data/],
    ['both length and files', () => encodeBencode({ info: { length: 1, files: [], name: 'x', 'piece length': PL, pieces: Buffer.alloc(20) } }), /both/],
    ['no name', () => encodeBencode({ info: { length: 1, 'piece length': PL, pieces: Buffer.alloc(20) } }), /info.name/],
    ['file path not a list', () => encodeBencode({ info: { files: [{ length: 1, path: 'a' }], name: 'x', 'piece length': PL, pieces: Buffer.alloc(20) } }), /path missing/],
    ['file length not an integer', () => encodeBencode({ info: { files: [{ length: 'big', path: ['a'] }], name: 'x', 'piece length': PL, pieces: Buffer.alloc(20) } }), /length/],
    ['trailing garbage', () => Buffer.concat([singleFileTorrent('x', Buffer.alloc(5), PL), Buffer.from('xx')]), /trailing/],
    ['string past the end', () => Buffer.from('d4:infod4:name99:x'), /past the end/],
    ['leading zero integer', () => Buffer.from('d4:infod6:lengthi05eee'), /leading zero/],
    ['v2 only', () => encodeBencode({ info: { 'meta version': 2, name: 'x', 'piece length': PL, 'file tree': {} } }), /v2-only/],
  ];
  for (const [label, make, reason] of broken) {
    it(`refuses broken metainfo: ${label}`, () => {
      const buf = make();
      expect(() => parseMetainfo(buf)).toThrow(MetainfoError);
      expect(() => parseMetainfo(buf)).toThrow(reason);
    });
  }

  it('refuses hostile nesting without overflowing the stack', () => {
    const deep = Buffer.from(`d4:info${'l'.repeat(200000)}${'e'.repeat(200000)}e`);
    expect(() => parseMetainfo(deep)).toThrow(/nesting deeper/);
  });

  it('readMetainfo names the file and its problem', async () => {
    await expect(readMetainfo('/nonexistent/x.torrent')).rejects.toThrow(/cannot read \/nonexistent\/x.torrent: ENOENT/);
  });
});

describe('scanBencode', () => {
  it('gives the byte span of each top-level value', () => {
    const buf = Buffer.from('d1:ai1e4:infod1:xleee');
    const spans = scanBencode(buf);
    expect(buf.subarray(spans.get('info')!.start, spans.get('info')!.end).toString()).toBe('d1:xlee');
    expect(buf.subarray(spans.get('a')!.start, spans.get('a')!.end).toString()).toBe('i1e');
  });

  it('agrees with the bencode package on valid input', () => {
    const value = { a: [1, -2, Buffer.from('xyz')], b: { c: Buffer.alloc(0) } };
    const decoded = decodeBencode(encodeBencode(value));
    expect(decoded).toEqual({ a: [1, -2, new Uint8Array(Buffer.from('xyz'))], b: { c: new Uint8Array(0) } });
  });

  for (const bad of ['', 'i-0e', 'i01e', 'ie', 'i1', '01:a', '2:a', 'de1', 'di1e1:ae', 'e', 'x', 'l', 'i1ei2e', '-1:a']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      expect(() => scanBencode(Buffer.from(bad))).toThrow();
    });
  }
});
