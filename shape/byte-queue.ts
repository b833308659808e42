// A FIFO of byte chunks that hands out exact byte counts as slices (no copying).

export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0; // index of the first live chunk
  private offset = 0; // bytes already taken from chunks[head]
  private bytes = 0;

  get length(): number {
    return this.bytes;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /** Removes the first `n` bytes (n ≤ length) and returns them as slices of the original chunks. */
  take(n: number): Buffer[] {
    if (n > this.bytes) throw new RangeError(`take(${n}) from a queue of ${this.bytes} bytes`);
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const c = this.chunks[this.head]!;
      const avail = c.length - this.offset;
      if (avail <= left) {
        out.push(this.offset === 0 ? c : c.subarray(this.offset));
        left -= avail;
        this.head++;
        this.offset = 0;
      } else {
        out.push(c.subarray(this.offset, this.offset + left));
        this.offset += left;
        left = 0;
      }
    }
    this.bytes -= n;
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** Drops everything. */
  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.bytes = 0;
  }
}
