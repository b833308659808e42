// A small seeded PRNG (mulberry32) so a world is the same for every algorithm run from the same seed.
// Not for cryptography: it only has to be fast, deterministic and well spread.

/** A deterministic stream of numbers derived from a 32-bit seed. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    // mulberry32 (Tommy Ettinger): one 32-bit state word, passes gjrand/PractRand for this use.
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A float in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.float();
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.below(items.length)]!;
  }

  /** Fisher–Yates, in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  /** `count` distinct indexes out of [0, n), in increasing order. */
  sample(n: number, count: number): number[] {
    const all = Array.from({ length: n }, (_, i) => i);
    return this.shuffle(all).slice(0, Math.max(0, Math.min(n, count))).sort((a, b) => a - b);
  }

  /** Fills a buffer with pseudo-random bytes (4 at a time). */
  fill(buf: Buffer): Buffer {
    let i = 0;
    for (; i + 4 <= buf.length; i += 4) buf.writeUInt32LE(this.nextUint32(), i);
    if (i < buf.length) {
      const last = this.nextUint32();
      for (let k = 0; i < buf.length; i++, k++) buf[i] = (last >>> (8 * k)) & 0xff;
    }
    return buf;
  }

  /** A 20-byte peer id: a client prefix, then random bytes. */
  peerId(prefix = '-CB0100-'): Buffer {
    const id = Buffer.alloc(20);
    id.write(prefix.slice(0, 20), 'latin1');
    this.fill(id.subarray(Math.min(20, prefix.length)));
    return id;
  }
}

/** A seed for a named sub-stream, so adding a draw in one part does not shift the others. */
export function deriveSeed(seed: number, label: string): number {
  // FNV-1a over the label, mixed with the seed.
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // One mulberry round to spread nearby seeds apart.
  return new Rng(h).nextUint32();
}

export function rngFor(seed: number, label: string): Rng {
  return new Rng(deriveSeed(seed, label));
}
