// Builds .torrent bytes by hand for tests, so hostile and odd metainfo can be made on purpose.
import { createHash } from 'node:crypto';
import { encodeBencode, type BencodeInput } from '../../datapath/bencode.js';

export interface HandFile {
  path: (string | Uint8Array)[];
  data: Buffer;
}

export function hashPieces(data: Buffer, pieceLength: number): Buffer {
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += pieceLength) {
    out.push(createHash('sha1').update(data.subarray(off, off + pieceLength)).digest());
  }
  return Buffer.concat(out);
}

export function multiFileTorrent(
  name: string | Uint8Array,
  files: HandFile[],
  pieceLength: number,
  extra: { [key: string]: BencodeInput } = {},
): Buffer {
  const all = Buffer.concat(files.map((f) => f.data));
  return encodeBencode({
    announce: 'http://127.0.0.1:6969/announce',
    ...extra,
    info: {
      files: files.map((f) => ({ length: f.data.length, path: f.path })),
      name,
      'piece length': pieceLength,
      pieces: hashPieces(all, pieceLength),
    },
  });
}

export function singleFileTorrent(name: string, data: Buffer, pieceLength: number, extra: { [key: string]: BencodeInput } = {}): Buffer {
  return encodeBencode({
    announce: 'http://127.0.0.1:6969/announce',
    ...extra,
    info: { length: data.length, name, 'piece length': pieceLength, pieces: hashPieces(data, pieceLength) },
  });
}

/** Deterministic pseudo-random bytes (no Math.random in fixtures). */
export function patternBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
