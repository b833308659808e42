// Where piece reads and writes run. They run on the event loop while the page cache serves them in well
// under a millisecond, and move to the thread pool for a while once the disk starts holding them up, so
// the loop and every other peer never wait on the disk for long.
//
// - Writes on the loop skip a thread-pool round trip and a copy of every block (about half the CPU of
//   the write on a 256 MiB download, measured by bench:transfer's leecher).
// - Reads on the loop skip the thread-pool round trip per piece (a futex handoff each way): a seeder
//   serving 256 MiB from the page cache took 0.24 s of CPU against 0.31 s (medians of 9 alternating runs).
//
// Writes tolerate a hiccup: on a busy machine a write is now and then descheduled for a few
// milliseconds (2 cores shared with a seeder: ~1 write in 1000 over 4 ms), and moving for 30 s on such a
// hiccup cost a fast download a copy of every block. Reads are judged stricter and by their size: a
// read served from the page cache copies at gigabytes per second, so one much slower than that came
// from the disk (or was descheduled: 1 read in ~2000 here took 1.4 ms), and a seeder whose data is cold
// should stop reading on the loop after a few reads.

export type IoMode = 'adaptive' | 'async';

export interface LoopIoLimits {
  /** How long an operation of `bytes` may take on the loop (ms) before it counts as a strike. */
  slowMs(bytes: number): number;
  /** Strikes within strikeWindowMs that move the operations to the thread pool. */
  strikesToMove: number;
  strikeWindowMs: number;
  /** A single operation this slow (ms) moves them at once. */
  stalledMs: number;
  /** How long operations stay in the thread pool after moving there (ms). */
  holdMs: number;
}

/** A write on the loop slower than this is a strike against writing on the loop. */
export const SLOW_WRITE_MS = 4;
/** Strikes within STRIKE_WINDOW_MS that send writes to the thread pool. */
export const SLOW_WRITES_TO_MOVE = 3;
export const STRIKE_WINDOW_MS = 10_000;
/** A single write this slow sends writes to the thread pool at once: the disk is holding them. */
export const STALLED_WRITE_MS = 25;
/** How long reads or writes stay in the thread pool after moving there. */
export const ASYNC_HOLD_MS = 30_000;

export const WRITE_LIMITS: LoopIoLimits = {
  slowMs: () => SLOW_WRITE_MS,
  strikesToMove: SLOW_WRITES_TO_MOVE,
  strikeWindowMs: STRIKE_WINDOW_MS,
  stalledMs: STALLED_WRITE_MS,
  holdMs: ASYNC_HOLD_MS,
};

/**
 * A read on the loop may take 0.5 ms plus its size at 4 GB/s (a 256 KiB piece: 0.57 ms; from the page
 * cache it takes ~0.05 ms). A disk slower than that (a SATA SSD, any spinning disk) sends reads to the
 * thread pool; a fast NVMe drive may keep them on the loop, where they block it for ~0.1–0.3 ms each.
 */
export function slowReadMs(bytes: number): number {
  return 0.5 + bytes / 4e6;
}
/** Slow reads within STRIKE_WINDOW_MS that send reads to the thread pool. */
export const SLOW_READS_TO_MOVE = 3;
/** A single read this slow sends reads to the thread pool at once. */
export const STALLED_READ_MS = 10;

export const READ_LIMITS: LoopIoLimits = {
  slowMs: slowReadMs,
  strikesToMove: SLOW_READS_TO_MOVE,
  strikeWindowMs: STRIKE_WINDOW_MS,
  stalledMs: STALLED_READ_MS,
  holdMs: ASYNC_HOLD_MS,
};

export class LoopIoPolicy {
  private asyncUntilMs = 0;
  /** When the recent strikes happened (ms), oldest first. */
  private strikesMs: number[] = [];
  /** Operations run on the loop, and those of them that were slow: for stats and tests. */
  loopOps = 0;
  slowOps = 0;
  /** Times the operations moved to the thread pool. */
  moves = 0;
  /** Told of each move (the session turns it into a warning: a slow disk is worth knowing about). */
  onMove: ((tookMs: number, holdMs: number) => void) | null = null;

  constructor(
    readonly limits: LoopIoLimits,
    readonly mode: IoMode = 'adaptive',
  ) {}

  /** True when the next operation may run on the loop. */
  onLoop(nowMs: number): boolean {
    return this.mode === 'adaptive' && nowMs >= this.asyncUntilMs;
  }

  /** An operation of `bytes` on the loop took `tookMs`. */
  record(tookMs: number, nowMs: number, bytes: number): void {
    const limits = this.limits;
    this.loopOps++;
    if (tookMs <= limits.slowMs(bytes)) return;
    this.slowOps++;
    this.strikesMs = this.strikesMs.filter((t) => nowMs - t < limits.strikeWindowMs);
    this.strikesMs.push(nowMs);
    if (tookMs < limits.stalledMs && this.strikesMs.length < limits.strikesToMove) return;
    this.strikesMs = [];
    this.moves++;
    this.asyncUntilMs = nowMs + limits.holdMs;
    this.onMove?.(tookMs, limits.holdMs);
  }
}
