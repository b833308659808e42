// SmartBan on its own: which sender of a failed attempt lied, judged against the piece once it passed.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { SmartBan } from '../../datapath/swarm/smart-ban.js';

const BLOCK = 16384;

describe('SmartBan', () => {
  it('names only the senders whose blocks differ from the good piece, once', () => {
    const good = randomBytes(4 * BLOCK - 1000); // a short last block too
    const bad = Buffer.from(good);
    bad[BLOCK + 5] ^= 1; // block 1, from the liar
    bad[3 * BLOCK + 7] ^= 1; // block 3, from the liar again
    const sb = new SmartBan();
    sb.recordFailure(7, bad, ['honest', 'liar', 'honest', 'liar']);
    expect(sb.has(7)).toBe(true);
    expect(sb.has(8)).toBe(false);
    expect(sb.judge(7, good)).toEqual(['liar']);
    expect(sb.has(7)).toBe(false);
    expect(sb.judge(7, good)).toEqual([]);
  });

  it('keeps several failed attempts of a piece, and blocks nobody sent are not judged', () => {
    const good = randomBytes(2 * BLOCK);
    const first = Buffer.from(good);
    first[0] ^= 0xff;
    const second = Buffer.from(good);
    second[BLOCK] ^= 0xff;
    const sb = new SmartBan();
    sb.recordFailure(0, first, ['a', 'b']);
    sb.recordFailure(0, second, ['', 'c']); // block 0 was never received in this attempt
    expect(sb.judge(0, good).sort()).toEqual(['a', 'c']);
  });

  it('remembers a bounded number of pieces', () => {
    const sb = new SmartBan();
    const data = Buffer.alloc(BLOCK);
    for (let i = 0; i < 1000; i++) sb.recordFailure(i, data, ['x']);
    expect(sb.size).toBe(256);
    expect(sb.has(0)).toBe(false);
    expect(sb.has(999)).toBe(true);
  });
});
