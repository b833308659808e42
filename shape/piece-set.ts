// Which pieces one side has announced (bitfield, have, have-all/none), without knowing the torrent:
// grows as indexes arrive; counts set bits.

const POPCOUNT = new Uint8Array(256).map((_, i) => {
  let n = 0;
  for (let v = i; v; v >>= 1) n += v & 1;
  return n;
});

/** Largest piece index we track (a have beyond it is ignored): 2^24 pieces. */
const MAX_PIECES = 1 << 24;

export class PieceSet {
  private bits = new Uint8Array(0);
  private setCount = 0;
  /** Pieces in the torrent as far as a bitfield tells (its length in bits, rounded up to 8). */
  knownLength = 0;
  all = false;

  get count(): number {
    return this.all ? this.knownLength : this.setCount;
  }

  setBitfield(bits: Uint8Array): void {
    this.bits = new Uint8Array(bits);
    this.knownLength = bits.length * 8;
    this.all = false;
    let n = 0;
    for (const b of bits) n += POPCOUNT[b]!;
    this.setCount = n;
  }

  setAll(): void {
    this.all = true;
  }

  clear(): void {
    this.bits = new Uint8Array(0);
    this.setCount = 0;
    this.all = false;
  }

  add(index: number): void {
    if (this.all || index < 0 || index >= MAX_PIECES) return;
    const byte = index >> 3;
    if (byte >= this.bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 0x80 >> (index & 7);
    if ((this.bits[byte]! & mask) === 0) {
      this.bits[byte]! |= mask;
      this.setCount++;
    }
  }

  /**
   * True when every piece is set as far as we can tell: have-all, or a bitfield whose set bits run
   * from the start with only the spare bits of the last byte clear.
   */
  complete(): boolean {
    if (this.all) return true;
    if (this.knownLength === 0 || this.setCount === 0) return false;
    return this.setCount > this.knownLength - 8 && isPrefixRun(this.bits, this.setCount);
  }
}

function isPrefixRun(bits: Uint8Array, n: number): boolean {
  const full = n >> 3;
  for (let i = 0; i < full; i++) if (bits[i] !== 0xff) return false;
  const rest = n & 7;
  if (rest === 0) return true;
  return bits[full] === ((0xff << (8 - rest)) & 0xff);
}
