import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { parseDistribution, sampleDistribution, formatDistribution, parseFraction, type DistributionRules } from '../../world/distribution.js';
import { parseBytes } from '../../util/units.js';
import { Rng, deriveSeed } from '../../world/random.js';

const upload: DistributionRules = { what: '--upload', parse: (t) => parseBytes(t, 'rate'), min: 0 };
const stages: DistributionRules = { what: '--stages', parse: parseFraction, min: 0, max: 1, maxExclusive: true };

describe('distributions', () => {
  it('parses the three forms with units', () => {
    expect(parseDistribution('uniform:50k-200k', upload)).toEqual({ kind: 'uniform', min: 50_000, max: 200_000 });
    expect(parseDistribution('fixed:100k', upload)).toEqual({ kind: 'fixed', value: 100_000 });
    expect(parseDistribution('choice:20k,50k,1M', upload)).toEqual({ kind: 'choice', values: [20_000, 50_000, 1_000_000] });
    expect(parseDistribution('64k', upload)).toEqual({ kind: 'fixed', value: 64_000 });
    expect(parseDistribution('uniform:0-0.9', stages)).toEqual({ kind: 'uniform', min: 0, max: 0.9 });
    expect(parseDistribution('choice:0,25%,0.5', stages)).toEqual({ kind: 'choice', values: [0, 0.25, 0.5] });
  });

  it('rejects bad input with a message naming the problem', () => {
    expect(() => parseDistribution('gauss:1-2', upload)).toThrow(/--upload: unknown distribution 'gauss'/);
    expect(() => parseDistribution('uniform:200k-50k', upload)).toThrow(/runs backwards/);
    expect(() => parseDistribution('uniform:50k', upload)).toThrow(/needs a range/);
    expect(() => parseDistribution('choice:', upload)).toThrow(/--upload/);
    expect(() => parseDistribution('fixed:lots', upload)).toThrow(/--upload: invalid rate 'lots'/);
    expect(() => parseDistribution('uniform:0-1', stages)).toThrow(/--stages: 1 must be below 1/);
    expect(() => parseDistribution('choice:0.5,-0.1', stages)).toThrow(/--stages/);
    expect(() => parseDistribution('', stages)).toThrow(/empty/);
  });

  it('random and truncated text gives an error or a valid distribution, never a crash', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constantFrom('uniform:1-', 'choice:,,', 'fixed:', 'uniform:-', ':')), (text) => {
        for (const rules of [upload, stages]) {
          try {
            const d = parseDistribution(text, rules);
            const v = sampleDistribution(d, new Rng(1));
            expect(Number.isFinite(v)).toBe(true);
          } catch (err) {
            expect(err).toBeInstanceOf(Error);
            expect((err as Error).message).toContain(rules.what);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('samples stay inside the distribution and follow the seed', () => {
    const d = parseDistribution('uniform:50k-200k', upload);
    const a = new Rng(42);
    const b = new Rng(42);
    for (let i = 0; i < 1000; i++) {
      const x = sampleDistribution(d, a);
      expect(x).toBeGreaterThanOrEqual(50_000);
      expect(x).toBeLessThan(200_000);
      expect(sampleDistribution(d, b)).toBe(x);
    }
    const c = parseDistribution('choice:0,0.25,0.5,0.9', stages);
    const seen = new Set<number>();
    const r = new Rng(3);
    for (let i = 0; i < 200; i++) seen.add(sampleDistribution(c, r));
    expect([...seen].sort()).toEqual([0, 0.25, 0.5, 0.9]);
  });

  it('uniform samples are spread evenly', () => {
    const d = parseDistribution('uniform:0-0.9', stages);
    const r = new Rng(9);
    const bins = [0, 0, 0];
    for (let i = 0; i < 9000; i++) bins[Math.floor(sampleDistribution(d, r) / 0.3)]!++;
    for (const b of bins) expect(Math.abs(b - 3000)).toBeLessThan(300);
  });

  it('formats back to text that parses to the same distribution', () => {
    for (const t of ['uniform:50000-200000', 'fixed:7', 'choice:1,2,3']) {
      expect(formatDistribution(parseDistribution(t, upload))).toBe(t);
    }
  });
});

describe('seeded random numbers', () => {
  it('the same seed gives the same stream; different labels give different streams', () => {
    const a = new Rng(deriveSeed(5, 'content'));
    const b = new Rng(deriveSeed(5, 'content'));
    const c = new Rng(deriveSeed(5, 'peers'));
    const xa = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(xa);
  });

  it('sample picks distinct sorted indexes; fill covers odd lengths', () => {
    const r = new Rng(1);
    const s = r.sample(100, 30);
    expect(s).toHaveLength(30);
    expect(new Set(s).size).toBe(30);
    expect([...s].sort((x, y) => x - y)).toEqual(s);
    expect(r.sample(5, 9)).toEqual([0, 1, 2, 3, 4]);
    const buf = r.fill(Buffer.alloc(7));
    expect(buf.length).toBe(7);
    expect(r.peerId().subarray(0, 8).toString()).toBe('-CB0100-');
  });
});
