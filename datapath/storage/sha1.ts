// SHA-1 contexts for piece hashes. A fresh one is copied from an empty context made once:
// createHash('sha1') looks the digest up by name in OpenSSL 3 every time (~9 µs per piece, against
// ~4.5 µs for a copy, measured over 1024 pieces), and a download makes one per piece.
import { createHash, type Hash } from 'node:crypto';

const EMPTY_SHA1 = createHash('sha1');

export function newSha1(): Hash {
  return EMPTY_SHA1.copy();
}

/** SHA-1 of `data` (20 bytes). */
export function sha1Of(data: Uint8Array): Buffer {
  return EMPTY_SHA1.copy().update(data).digest();
}
