// Piece hash contexts are copies of one empty context: each must start empty and stay independent.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newSha1, sha1Of } from '../../datapath/storage/sha1.js';

const reference = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
};

describe('sha1', () => {
  it('contexts start empty and do not share state, however they are interleaved', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }), fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }), (a, b) => {
        const ha = newSha1();
        const hb = newSha1();
        for (let i = 0; i < Math.max(a.length, b.length); i++) {
          if (a[i]) ha.update(a[i]!);
          if (b[i]) hb.update(b[i]!);
        }
        expect(ha.digest().equals(reference(...a))).toBe(true);
        expect(hb.digest().equals(reference(...b))).toBe(true);
        expect(newSha1().digest().equals(reference())).toBe(true);
      }),
    );
  });

  it('sha1Of matches node:crypto', () => {
    const data = Buffer.from('the quick brown fox');
    expect(sha1Of(data).equals(reference(data))).toBe(true);
    expect(sha1Of(new Uint8Array(0)).toString('hex')).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
  });
});
