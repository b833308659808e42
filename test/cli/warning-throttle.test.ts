// Which warnings plain download/seed output shows: the first of each shape per window, a few in all per
// window, and once a note that -v shows the rest.
import { describe, expect, it } from 'vitest';
import { HELD_BACK_NOTE, WARNING_WINDOW_MS, WARNINGS_PER_WINDOW, WarningThrottle } from '../../cli/warning-throttle.js';

describe('WarningThrottle', () => {
  it('shows a repeated warning once per window, whatever its numbers, and notes once that some are held back', () => {
    const w = new WarningThrottle();
    expect(w.admit('movie: tracker http://t:80/a: connect ECONNREFUSED 127.0.0.1:80', 0)).toEqual(['movie: tracker http://t:80/a: connect ECONNREFUSED 127.0.0.1:80']);
    expect(w.admit('movie: tracker http://t:80/a: connect ECONNREFUSED 127.0.0.1:80', 5_000)).toEqual([HELD_BACK_NOTE]);
    expect(w.admit('movie: piece 12 failed its hash check (from 10.0.0.1:6881)', 6_000)).toEqual(['movie: piece 12 failed its hash check (from 10.0.0.1:6881)']);
    expect(w.admit('movie: piece 13 failed its hash check (from 10.0.0.2:6881)', 7_000)).toEqual([]); // same shape
    expect(w.admit('movie: tracker http://t:80/a: connect ECONNREFUSED 127.0.0.1:80', WARNING_WINDOW_MS + 1)).toHaveLength(1);
    expect(w.heldBack).toBe(2);
  });

  it('shows at most a few warnings per window in all: one dead tracker for a thousand seeded torrents', () => {
    const w = new WarningThrottle();
    const shown: string[] = [];
    for (let i = 0; i < 1000; i++) shown.push(...w.admit(`item-${String.fromCharCode(97 + (i % 26))}${i}: tracker http://t/a: timed out`, i));
    expect(shown).toHaveLength(WARNINGS_PER_WINDOW + 1);
    expect(shown.at(-1)).toBe(HELD_BACK_NOTE);
    // A new window lets a few through again.
    expect(w.admit('item-zz: tracker http://t/a: timed out', 1000 + WARNING_WINDOW_MS)).toEqual(['item-zz: tracker http://t/a: timed out']);
  });

  it('remembers a bounded number of shapes, forgetting the oldest first', () => {
    const w = new WarningThrottle(WARNING_WINDOW_MS, Number.POSITIVE_INFINITY);
    const name = (i: number): string => `peer ${i.toString(26).replace(/\d/g, (d) => 'qrstuvwxyz'[Number(d)]!)} sent garbage`;
    for (let i = 0; i <= 1000; i++) expect(w.admit(name(i), i)).toEqual([name(i)]);
    // All within one window: the newest is still remembered, the oldest was forgotten to make room.
    expect(w.admit(name(1000), 2000)).toEqual([HELD_BACK_NOTE]);
    expect(w.admit(name(0), 2001)).toEqual([name(0)]);
  });
});
