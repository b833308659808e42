// Where piece writes run. A verified piece is written on the event loop while the page cache takes it
// in well under a millisecond: that skips a thread-pool round trip per piece (about half the CPU of the
// write on a 256 MiB download, measured by bench:transfer's leecher). As soon as one write stalls (a
// slow disk throttling dirty pages), writes move to the thread pool for a while, so the loop and every
// other peer never wait on the disk for long. Reads always go through the thread pool.

/** A write on the loop slower than this sends writes to the thread pool. */
export const SLOW_WRITE_MS = 4;
/** How long writes stay in the thread pool after a slow one. */
export const ASYNC_HOLD_MS = 30_000;

export type WriteMode = 'adaptive' | 'async';

export class WritePolicy {
  private asyncUntilMs = 0;
  /** Writes that stalled the loop, for stats and tests. */
  slowWrites = 0;

  constructor(readonly mode: WriteMode = 'adaptive') {}

  /** True when the next write may run on the loop. */
  onLoop(nowMs: number): boolean {
    return this.mode === 'adaptive' && nowMs >= this.asyncUntilMs;
  }

  /** A write on the loop took `tookMs`. */
  record(tookMs: number, nowMs: number): void {
    if (tookMs <= SLOW_WRITE_MS) return;
    this.slowWrites++;
    this.asyncUntilMs = nowMs + ASYNC_HOLD_MS;
  }
}
