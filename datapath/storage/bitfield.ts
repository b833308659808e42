// A fixed-size set of piece indexes, stored as the BEP 3 bitfield (high bit of byte 0 = piece 0).

export class Bitfield {
  readonly buffer: Buffer;
  private ones = 0;

  constructor(readonly length: number, from?: Uint8Array) {
    this.buffer = Buffer.alloc((length + 7) >> 3);
    if (from) {
      this.buffer.set(from.subarray(0, this.buffer.length));
      // Spare bits past `length` must be zero (BEP 3); clear them so counts stay honest.
      const spare = this.buffer.length * 8 - length;
      if (spare > 0) this.buffer[this.buffer.length - 1]! &= (0xff << spare) & 0xff;
      for (let i = 0; i < length; i++) if (this.get(i)) this.ones++;
    }
  }

  /** True when `buf` is a valid bitfield for `length` pieces (right size, spare bits zero). */
  static isValid(buf: Uint8Array, length: number): boolean {
    if (buf.length !== (length + 7) >> 3) return false;
    const spare = buf.length * 8 - length;
    return spare === 0 || (buf[buf.length - 1]! & ((1 << spare) - 1)) === 0;
  }

  get(i: number): boolean {
    return (this.buffer[i >> 3]! & (0x80 >> (i & 7))) !== 0;
  }

  set(i: number, value = true): void {
    if (i < 0 || i >= this.length) throw new RangeError(`piece ${i} out of range 0..${this.length - 1}`);
    const mask = 0x80 >> (i & 7);
    const had = (this.buffer[i >> 3]! & mask) !== 0;
    if (value === had) return;
    if (value) {
      this.buffer[i >> 3]! |= mask;
      this.ones++;
    } else {
      this.buffer[i >> 3]! &= ~mask;
      this.ones--;
    }
  }

  setAll(): void {
    for (let i = 0; i < this.length; i++) this.set(i);
  }

  count(): number {
    return this.ones;
  }

  complete(): boolean {
    return this.ones === this.length;
  }

  toBuffer(): Buffer {
    return Buffer.from(this.buffer);
  }
}
