import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { median, quantile, spread, mean, stddev, tInterval, tCritical95, bootstrapInterval, pairedDifferences } from '../../world/stats.js';

describe('world stats', () => {
  it('median and quantiles follow the usual definition', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5], 0.25)).toBe(2);
    expect(quantile([10], 0.9)).toBe(10);
    expect(median([])).toBeNaN();
    expect(median([1, NaN, 3])).toBe(2); // non-finite values (runs that did not finish) are ignored
  });

  it('spread gives min, quartiles, max', () => {
    expect(spread([5, 1, 9, 3, 7])).toEqual({ n: 5, median: 5, min: 1, max: 9, q1: 3, q3: 7 });
  });

  it('mean and sample standard deviation', () => {
    expect(mean([2, 4, 4, 4, 5, 5, 7, 9])).toBe(5);
    expect(stddev([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.138, 3);
    expect(stddev([1])).toBeNaN();
  });

  it('t critical values match the table and approach the normal quantile', () => {
    expect(tCritical95(1)).toBeCloseTo(12.706, 3);
    expect(tCritical95(9)).toBeCloseTo(2.262, 3);
    expect(tCritical95(60)).toBeCloseTo(2.0003, 2);
    expect(tCritical95(1e6)).toBeCloseTo(1.96, 3);
  });

  it('t interval of known data', () => {
    // mean 5, sd 2.138, n 8, t(7)=2.365 → half-width 1.788
    const ci = tInterval([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(ci.estimate).toBe(5);
    expect(ci.high - ci.estimate).toBeCloseTo(1.788, 2);
    expect(ci.estimate - ci.low).toBeCloseTo(1.788, 2);
    expect(tInterval([3]).method).toBe('none');
  });

  it('bootstrap interval brackets the mean, is deterministic, and narrows with more data', () => {
    const xs = [1.2, -0.3, 0.8, 2.1, 0.4, 1.0, 0.9, 1.5];
    const a = bootstrapInterval(xs, 7);
    const b = bootstrapInterval(xs, 7);
    expect(a).toEqual(b);
    expect(a.low).toBeLessThanOrEqual(a.estimate);
    expect(a.high).toBeGreaterThanOrEqual(a.estimate);
    const wide = bootstrapInterval(xs.slice(0, 3), 7);
    const many = bootstrapInterval([...xs, ...xs, ...xs, ...xs], 7);
    expect(many.high - many.low).toBeLessThan(wide.high - wide.low);
  });

  it('intervals contain the estimate for any data', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 2, maxLength: 30 }), (xs) => {
        const t = tInterval(xs);
        const b = bootstrapInterval(xs, 3, 200);
        const eps = 1e-6 * (1 + Math.abs(t.estimate));
        expect(t.low).toBeLessThanOrEqual(t.estimate + eps);
        expect(t.high).toBeGreaterThanOrEqual(t.estimate - eps);
        expect(b.low).toBeLessThanOrEqual(b.high + eps);
      }),
      { numRuns: 200 },
    );
  });

  it('paired differences skip trials where either side did not finish', () => {
    expect(pairedDifferences([10, 12, NaN, 9], [11, 11, 10, NaN])).toEqual([-1, 1]);
  });
});
