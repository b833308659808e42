// Where piece writes run. Blocks are written on the event loop while the page cache takes them in well
// under a millisecond: that skips a thread-pool round trip and a copy of every block (about half the
// CPU of the write on a 256 MiB download, measured by bench:transfer's leecher). Once the disk starts
// holding writes up (dirty pages being throttled), writes move to the thread pool for a while, so the
// loop and every other peer never wait on the disk for long. Reads always go through the thread pool.
//
// One slow write is not enough to move: on a busy machine a write is now and then descheduled for a few
// milliseconds (2 cores shared with a seeder: ~1 write in 1000 over 4 ms), and moving for 30 s on such a
// hiccup cost a fast download a copy of every block. A stall that long only once does not hurt the loop.

/** A write on the loop slower than this is a strike against writing on the loop. */
export const SLOW_WRITE_MS = 4;
/** Strikes within STRIKE_WINDOW_MS that send writes to the thread pool. */
export const SLOW_WRITES_TO_MOVE = 3;
export const STRIKE_WINDOW_MS = 10_000;
/** A single write this slow sends writes to the thread pool at once: the disk is holding them. */
export const STALLED_WRITE_MS = 25;
/** How long writes stay in the thread pool after moving there. */
export const ASYNC_HOLD_MS = 30_000;

export type WriteMode = 'adaptive' | 'async';

export class WritePolicy {
  private asyncUntilMs = 0;
  /** When the recent strikes happened (ms), oldest first. */
  private strikesMs: number[] = [];
  /** Writes that stalled the loop, for stats and tests. */
  slowWrites = 0;
  /** Times writes moved to the thread pool. */
  moves = 0;

  constructor(readonly mode: WriteMode = 'adaptive') {}

  /** True when the next write may run on the loop. */
  onLoop(nowMs: number): boolean {
    return this.mode === 'adaptive' && nowMs >= this.asyncUntilMs;
  }

  /** A write on the loop took `tookMs`. */
  record(tookMs: number, nowMs: number): void {
    if (tookMs <= SLOW_WRITE_MS) return;
    this.slowWrites++;
    this.strikesMs = this.strikesMs.filter((t) => nowMs - t < STRIKE_WINDOW_MS);
    this.strikesMs.push(nowMs);
    if (tookMs < STALLED_WRITE_MS && this.strikesMs.length < SLOW_WRITES_TO_MOVE) return;
    this.strikesMs = [];
    this.moves++;
    this.asyncUntilMs = nowMs + ASYNC_HOLD_MS;
  }
}
