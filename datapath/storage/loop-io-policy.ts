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
//
// A slow operation only counts against the disk if the process blocked during it. When more processes
// want the CPU than there are cores (8 leechers and a seeder on 2 cores), any operation can take 10–20 ms
// of wall time because the process was preempted, not because the disk held it: every leecher then moved
// both reads and writes to the thread pool for the whole download, paying a futex handoff and a copy per
// write. So after a slow operation the next ones, for a strike window, are watched with the process's
// context switch counts (getrusage, ~1 µs): one that was preempted (involuntary switches) without
// blocking (no voluntary switch) is not held against the disk. The first slow one after a quiet spell
// has no such evidence: it may be a strike but never moves the operations on its own.

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

/** The process's context switches so far: voluntary (it blocked) and involuntary (it was preempted). */
export interface ContextSwitches {
  voluntary: number;
  involuntary: number;
}

export function processContextSwitches(): ContextSwitches {
  const r = process.resourceUsage();
  return { voluntary: r.voluntaryContextSwitches, involuntary: r.involuntaryContextSwitches };
}

export class LoopIoPolicy {
  private asyncUntilMs = 0;
  /** Until when operations are watched with context switch counts (a strike window after a slow one). */
  private watchUntilMs = 0;
  /** The counts when the current operation started, if it is watched. */
  private atStart: ContextSwitches | null = null;
  /** When the recent strikes happened (ms), oldest first. */
  private strikesMs: number[] = [];
  /** Operations run on the loop, and those of them that were slow: for stats and tests. */
  loopOps = 0;
  slowOps = 0;
  /** Slow operations that were preempted without blocking: not the disk's doing, not held against it. */
  preemptedOps = 0;
  /** Times the operations moved to the thread pool. */
  moves = 0;
  /** Told of each move (the session turns it into a warning: a slow disk is worth knowing about). */
  onMove: ((tookMs: number, holdMs: number) => void) | null = null;

  constructor(
    readonly limits: LoopIoLimits,
    readonly mode: IoMode = 'adaptive',
    private readonly contextSwitches: () => ContextSwitches = processContextSwitches,
  ) {}

  /** True when the next operation may run on the loop. */
  onLoop(nowMs: number): boolean {
    return this.mode === 'adaptive' && nowMs >= this.asyncUntilMs;
  }

  /** Call right before an operation runs on the loop (then record() it). */
  starting(nowMs: number): void {
    this.atStart = nowMs < this.watchUntilMs ? this.contextSwitches() : null;
  }

  /** An operation of `bytes` on the loop took `tookMs`. */
  record(tookMs: number, nowMs: number, bytes: number): void {
    const limits = this.limits;
    this.loopOps++;
    const atStart = this.atStart;
    this.atStart = null;
    if (tookMs <= limits.slowMs(bytes)) return;
    this.slowOps++;
    this.watchUntilMs = nowMs + limits.strikeWindowMs;
    if (atStart !== null) {
      const now = this.contextSwitches();
      if (now.voluntary === atStart.voluntary && now.involuntary > atStart.involuntary) {
        this.preemptedOps++;
        return;
      }
    }
    this.strikesMs = this.strikesMs.filter((t) => nowMs - t < limits.strikeWindowMs);
    this.strikesMs.push(nowMs);
    // Without evidence that the process blocked, a stall is one strike like any slow operation.
    const stalled = tookMs >= limits.stalledMs && atStart !== null;
    if (!stalled && this.strikesMs.length < limits.strikesToMove) return;
    this.strikesMs = [];
    this.moves++;
    this.asyncUntilMs = nowMs + limits.holdMs;
    this.onMove?.(tookMs, limits.holdMs);
  }
}
