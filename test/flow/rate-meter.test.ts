import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RateMeter } from '../../datapath/flow/rate-meter.js';

const TAU_US = 2_000_000;

describe('RateMeter', () => {
  it('converges to a steady rate, whether samples come back to back or spread out', () => {
    // 16 KiB every 20 µs (the linear decay branch) and 160 KiB every 200 µs (exp): both 819.2 MB/s.
    for (const [bytes, stepUs] of [[16_384, 20], [163_840, 200]] as const) {
      const m = new RateMeter(TAU_US);
      let t = 1_000;
      for (let i = 0; i < (10 * TAU_US) / stepUs; i++, t += stepUs) m.add(bytes, t);
      expect(m.rate(t) / ((bytes * 1e6) / stepUs)).toBeCloseTo(1, 2);
    }
  });

  it('the first sample only starts the clock; silence decays the rate by e per time constant', () => {
    const m = new RateMeter(TAU_US);
    m.add(1_000, 5_000_000);
    expect(m.rate(5_000_000)).toBeCloseTo(500, 6); // 1000 B over tau = 2 s
    expect(m.rate(5_000_000 + TAU_US)).toBeCloseTo(500 / Math.E, 6);
  });

  it('samples out of order or at the same instant never make the rate negative or NaN', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(1 << 20), fc.integer({ min: 0, max: 10_000_000 })), { maxLength: 50 }), (samples) => {
        const m = new RateMeter(TAU_US);
        let total = 0;
        for (const [bytes, t] of samples) {
          m.add(bytes, t);
          total += bytes;
          const r = m.rate(t);
          expect(Number.isFinite(r) && r >= 0).toBe(true);
          expect(r).toBeLessThanOrEqual((total * 1e6) / TAU_US + 1e-6);
        }
      }),
    );
  });
});
