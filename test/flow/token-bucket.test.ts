import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Pacer, TokenBucket, nowUs } from '../../datapath/flow/token-bucket.js';

const BLOCK = 16 * 1024;

/** A xorshift PRNG so the simulated timer jitter is random but repeatable. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/**
 * A backlogged sender driven like the engine drives it: ask delayUs, sleep on a timer that fires
 * late like Node's (rounded up to whole ms, plus up to `jitterUs`), send several blocks per wakeup
 * while credit lasts. Returns the send times (µs) of each block.
 */
function simulate(rateBps: number, durationUs: number, jitterUs: number, seed: number): number[] {
  const bucket = new TokenBucket(rateBps, BLOCK);
  const rand = rng(seed);
  const sends: number[] = [];
  let now = 1_000_000;
  const end = now + durationUs;
  while (now < end) {
    const d = bucket.delayUs(BLOCK, now);
    if (d === 0) {
      bucket.consume(BLOCK, now);
      sends.push(now);
      now += 1; // writing a block takes a little time
      continue;
    }
    // setTimeout granularity: whole ms, never early, plus random lateness.
    now += Math.max(1000, Math.ceil(d / 1000) * 1000) + rand() * jitterUs;
  }
  return sends;
}

function checkAccuracy(rateBps: number, sends: number[], maxLateUs: number): void {
  const t0 = sends[0]!;
  // No burst: cumulative bytes never run ahead of the ideal line by more than one block.
  // Accuracy: never fall behind it by more than two blocks plus what the current timer lateness
  // holds back (lateness is made up at the next wakeup, not lost).
  const lagAllowed = 2 * BLOCK + (rateBps * maxLateUs) / 1e6 + 1;
  sends.forEach((t, i) => {
    const sent = (i + 1) * BLOCK;
    const ideal = (rateBps * (t - t0)) / 1e6;
    expect(sent).toBeLessThanOrEqual(ideal + BLOCK + 1e-6);
    expect(sent).toBeGreaterThanOrEqual(ideal - lagAllowed);
  });
  // Any 10 s window (sliding by one block): the rate a receiver measures block by block is within 3%.
  const windowUs = 10_000_000;
  let j = 0;
  let worst = 0;
  for (let i = 0; i < sends.length; i++) {
    while (j < sends.length && sends[j]! - sends[i]! < windowUs) j++;
    if (j >= sends.length) break;
    const last = j - 1; // last send inside [sends[i], sends[i] + 10 s)
    const span = sends[last]! - sends[i]!;
    if (span < windowUs * 0.8) continue; // fewer than ~2 blocks at the lowest rate
    const measured = ((last - i) * BLOCK * 1e6) / span;
    worst = Math.max(worst, Math.abs(measured / rateBps - 1));
  }
  expect(worst).toBeLessThan(0.03);
  // Bytes counted in fixed 10 s windows, where a block is a small part of the window.
  if (rateBps * 10 >= 100 * BLOCK) {
    for (let a = t0; a + windowUs <= sends[sends.length - 1]!; a += windowUs / 4) {
      const n = sends.filter((t) => t >= a && t < a + windowUs).length;
      expect(Math.abs((n * BLOCK) / ((rateBps * windowUs) / 1e6) - 1)).toBeLessThan(0.03);
    }
  }
}

describe('TokenBucket over simulated time, 16 KiB blocks, late timers', () => {
  for (const rate of [10_000, 1_000_000, 100_000_000]) {
    it(`holds ${rate} B/s within 3% over any 10 s window`, () => {
      const durationUs = rate >= 100_000_000 ? 22_000_000 : 60_000_000;
      const sends = simulate(rate, durationUs, 1500, rate);
      expect(sends.length).toBeGreaterThan(10);
      checkAccuracy(rate, sends, 1000 + 1500);
      // Long-run rate.
      const total = ((sends.length - 1) * BLOCK * 1e6) / (sends[sends.length - 1]! - sends[0]!);
      expect(Math.abs(total / rate - 1)).toBeLessThan(0.01);
    });
  }

  it('holds random rates with random lateness (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10_000, max: 50_000_000 }), fc.integer({ min: 0, max: 3000 }), fc.integer(), (rate, jitter, seed) => {
        const durationUs = Math.min(30_000_000, Math.max(12_000_000, (BLOCK * 400 * 1e6) / rate));
        checkAccuracy(rate, simulate(rate, durationUs, jitter, seed), 1000 + jitter);
      }),
      { numRuns: 15 },
    );
  });
});

describe('TokenBucket semantics', () => {
  it('lets one burst go at once, then paces', () => {
    const b = new TokenBucket(100_000, BLOCK);
    expect(b.delayUs(BLOCK, 0)).toBe(0);
    b.consume(BLOCK, 0);
    expect(b.delayUs(BLOCK, 0)).toBe(Math.ceil((BLOCK * 1e6) / 100_000));
    expect(b.delayUs(BLOCK, 100_000)).toBe(Math.ceil((BLOCK - 10_000) * 10));
  });

  it('saves up no more than the burst while idle', () => {
    const b = new TokenBucket(1_000_000, BLOCK);
    expect(b.creditBytes(0)).toBe(BLOCK);
    expect(b.creditBytes(60_000_000)).toBe(BLOCK); // a minute idle still gives one block
    // Right after a send the bucket cannot tell a backlogged sender from a pause: it keeps up to
    // graceUs of credit, then caps again.
    b.consume(BLOCK, 60_000_000);
    expect(b.creditBytes(120_000_000)).toBe(BLOCK);
    const wide = new TokenBucket(1_000_000, BLOCK, { graceUs: 20_000 });
    wide.consume(BLOCK, 0);
    expect(wide.creditBytes(60_000_000)).toBeCloseTo(20_000, 6);
    // A sender told to wait keeps the credit of a late wakeup (up to maxLateUs, 50 ms).
    const late = new TokenBucket(1_000_000, BLOCK);
    late.consume(BLOCK, 0);
    const d = late.delayUs(BLOCK, 0);
    expect(late.creditBytes(d + 30_000)).toBeCloseTo(BLOCK + 30_000, 6);
    expect(late.creditBytes(d + 500_000)).toBeCloseTo(BLOCK + 50_000, 6);
  });

  it('goes into debt for a block larger than the burst, keeping the long-run rate', () => {
    const b = new TokenBucket(10_000, 1000);
    expect(b.delayUs(5000, 0)).toBe(0); // a full bucket lets the big block go
    b.consume(5000, 0);
    expect(b.creditBytes(0)).toBe(-4000);
    expect(b.delayUs(5000, 0)).toBe(500_000); // waits for the debt plus a full bucket
  });

  it('rate 0 is unlimited; changing rate keeps earned credit and rejects bad values', () => {
    const b = new TokenBucket(0, BLOCK);
    expect(b.delayUs(10 * BLOCK, 0)).toBe(0);
    b.consume(10 * BLOCK, 0);
    b.setRate(1000, 0);
    expect(b.creditBytes(0)).toBe(BLOCK);
    b.consume(BLOCK, 0);
    b.setRate(2000, 1_000_000); // 1000 bytes earned at the old rate
    expect(b.creditBytes(1_000_000)).toBeCloseTo(1000 - 0, 6);
    expect(b.delayUs(BLOCK, 1_000_000)).toBe(Math.ceil(((BLOCK - 1000) * 1e6) / 2000));
    expect(() => b.setRate(-1)).toThrow(/rateBps/);
    expect(() => b.setRate(Number.NaN)).toThrow(/rateBps/);
    expect(() => new TokenBucket(1, Number.POSITIVE_INFINITY)).toThrow(/burstBytes/);
  });

  it('nowUs is monotonic and in µs', async () => {
    const a = nowUs();
    await new Promise((r) => setTimeout(r, 20));
    const b = nowUs();
    expect(b - a).toBeGreaterThanOrEqual(15_000);
    expect(b - a).toBeLessThan(2_000_000);
  });
});

describe('Pacer (real timers)', () => {
  it('runs callbacks in deadline order, never early, and cancels', async () => {
    const p = new Pacer();
    const order: number[] = [];
    const early: number[] = [];
    const start = nowUs();
    const done = new Promise<void>((resolve) => {
      for (const [i, d] of [[3, 30_000], [1, 500], [2, 5_000], [4, 40_000]] as const) {
        const due = start + d;
        p.at(due, () => {
          order.push(i);
          if (nowUs() < due) early.push(i);
          if (i === 4) resolve();
        });
      }
    });
    const h = p.after(10_000, () => order.push(99));
    h.cancel();
    await done;
    expect(order).toEqual([1, 2, 3, 4]);
    expect(early).toEqual([]);
    expect(p.size).toBe(0);
    p.close();
  });

  it('keeps firing when one callback throws', async () => {
    const p = new Pacer();
    const warn = process.emitWarning;
    const warnings: string[] = [];
    process.emitWarning = ((w: string | Error) => warnings.push(String(w))) as typeof process.emitWarning;
    try {
      let ran = false;
      await new Promise<void>((resolve) => {
        p.after(100, () => {
          throw new Error('boom');
        });
        p.after(200, () => {
          ran = true;
          resolve();
        });
      });
      expect(ran).toBe(true);
      expect(warnings.join()).toMatch(/boom/);
    } finally {
      process.emitWarning = warn;
      p.close();
    }
  });
});
