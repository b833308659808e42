import { performance } from 'node:perf_hooks';

// Rate enforcement: a token bucket on payload bytes, plus the clock and the pacer that wakes senders.
//
// Semantics (what the engine and the shaping proxy rely on):
// - Credit refills at `rateBps` and is saved up to `burstBytes` while nothing waits to be sent.
// - `delayUs(n)` says when `n` bytes may go: once credit reaches min(n, burst). A block larger than
//   the burst waits for a full bucket and then drives the credit negative (debt), so the long-run
//   rate stays exact whatever the block size.
// - Timers are late (setTimeout fires ~1.1 ms after asking for 1 ms). Credit earned while a sender was
//   already waiting (delayUs said "wait") is not lost to the cap: it is kept (up to `maxLateUs` worth,
//   default 50 ms: a loaded event loop runs timers that late) and spent on the next
//   sends. So while a sender stays backlogged its cumulative bytes never run ahead of
//   rate·t + max(burst, block) and do not fall behind because of timer lateness; at high rates several
//   blocks go out per wakeup. The price: after going idle right after a send, a sender may find up to
//   max(burst, rate·graceUs) of credit (graceUs, 2 ms: the gap between a send and the next delayUs of a
//   backlogged sender; a pause that short looks the same as a late wakeup).
// - rateBps 0 = unlimited: delayUs is always 0 and consume does nothing.

/** Monotonic clock in µs (fractional); the same epoch as flow/clock.ts monoUs and control/clock.ts. */
export function nowUs(): number {
  return performance.now() * 1000;
}

export interface TokenBucketOptions {
  /** Longest scheduler lateness whose credit is kept beyond the burst, µs (default 20 ms). */
  maxLateUs?: number;
  /** After a send, how long the sender counts as ready before asking again, µs (default 2 ms). */
  graceUs?: number;
}

export class TokenBucket {
  private rate: number;
  private burst: number;
  private readonly maxLateUs: number;
  private readonly graceUs: number;
  /** How much lateness after readyAtUs earns credit beyond the cap (maxLateUs or graceUs). */
  private readyForUs = 0;
  private tokens: number;
  private lastUs = Number.NaN;
  /** When the waiting sender's credit was (or will be) reached; NaN when no sender waits. */
  private readyAtUs = Number.NaN;

  constructor(rateBps: number, burstBytes: number, opts: TokenBucketOptions = {}) {
    this.rate = checkNonNegative(rateBps, 'rateBps');
    this.burst = checkNonNegative(burstBytes, 'burstBytes');
    this.maxLateUs = checkNonNegative(opts.maxLateUs ?? 50_000, 'maxLateUs');
    this.graceUs = checkNonNegative(opts.graceUs ?? 2_000, 'graceUs');
    this.tokens = this.burst; // start full: one burst may go at once
  }

  get rateBps(): number {
    return this.rate;
  }

  get burstBytes(): number {
    return this.burst;
  }

  /** Current credit in bytes (negative = debt). For stats and tests. */
  creditBytes(nowUs: number): number {
    this.refill(nowUs);
    return this.tokens;
  }

  /**
   * Change the rate from now on (credit earned so far at the old rate is kept). A sender sleeping on a
   * delay computed at the old rate should ask `delayUs` again: its timer may now be too late or early.
   */
  setRate(rateBps: number, now: number = nowUs()): void {
    checkNonNegative(rateBps, 'rateBps');
    if (rateBps === this.rate) return;
    if (this.rate === 0) {
      this.tokens = this.burst; // coming from unlimited: start with a full bucket, no debt
    } else {
      this.refill(now);
    }
    this.lastUs = now;
    this.readyAtUs = Number.NaN;
    this.rate = rateBps;
  }

  setBurst(bytes: number): void {
    this.burst = checkNonNegative(bytes, 'burstBytes');
    if (this.tokens > this.burst) this.tokens = this.burst;
  }

  /** µs until `bytes` may be sent (0 = now). Does not consume. */
  delayUs(bytes: number, nowUs: number): number {
    if (this.rate === 0) return 0;
    this.refill(nowUs);
    const need = Math.min(bytes, this.burst);
    if (this.tokens >= need) {
      if (Number.isNaN(this.readyAtUs)) {
        this.readyAtUs = nowUs;
        this.readyForUs = this.graceUs;
      }
      return 0;
    }
    const exactUs = ((need - this.tokens) * 1e6) / this.rate;
    // The exact (fractional) ready time: rounding it up would clip a little credit on every wait.
    this.readyAtUs = nowUs + exactUs;
    this.readyForUs = this.maxLateUs;
    return Math.ceil(exactUs);
  }

  /** Spend `bytes` of credit (may go into debt when a block is larger than the burst). */
  consume(bytes: number, nowUs: number): void {
    if (this.rate === 0) return;
    this.refill(nowUs);
    this.tokens -= bytes;
    // A sender that just sent is taken to be ready for more: the credit it earns until it asks again
    // is not clipped (at most graceUs worth, also when it turns out to have gone idle).
    this.readyAtUs = nowUs;
    this.readyForUs = this.graceUs;
  }

  private refill(now: number): void {
    if (Number.isNaN(this.lastUs)) {
      this.lastUs = now;
      return;
    }
    const last = this.lastUs;
    if (now <= last) return;
    this.lastUs = now;
    const perUs = this.rate / 1e6;
    // Split [last, now) into: idle (before readyAt; saved credit is capped at the burst), ready (a
    // sender waits on the scheduler; credit is kept in full, up to readyForUs), and stalled (waited
    // longer than that, e.g. on socket backpressure; capped again at what it holds or the burst).
    const readyAt = Number.isNaN(this.readyAtUs) ? Number.POSITIVE_INFINITY : this.readyAtUs;
    const idleEnd = Math.min(now, Math.max(last, readyAt));
    const readyEnd = Math.min(now, Math.max(idleEnd, readyAt + this.readyForUs));
    let t = this.tokens;
    if (idleEnd > last) t = capped(t, t + perUs * (idleEnd - last), this.burst);
    if (readyEnd > idleEnd) t += perUs * (readyEnd - idleEnd);
    if (now > readyEnd) t = capped(t, t + perUs * (now - readyEnd), this.burst);
    this.tokens = t;
  }

}

/** Credit grown from `before` to `after`, not beyond `cap` (but credit already held is never taken away). */
function capped(before: number, after: number, cap: number): number {
  return after <= cap ? after : Math.max(cap, before);
}

function checkNonNegative(n: number, what: string): number {
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`${what} must be a finite number >= 0, got ${n}`);
  return n;
}

/**
 * Wakes callbacks at µs deadlines with one timer for all of them. setTimeout is ~1 ms coarse and fires
 * late; that costs no rate, since the bucket keeps the credit a late sender earns (several blocks go per
 * wakeup at high rates). Nothing is polled: polling deadlines closer than 1 ms with setImmediate spun
 * the event loop whenever a cap was set (a seeder capped at 20 MB/s burned a whole core).
 */
export interface PacerOptions {
  clock?: () => number;
}

export interface PacerHandle {
  cancel(): void;
}

interface PacerEntry {
  atUs: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class Pacer {
  private readonly heap: PacerEntry[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private armedForUs = Number.POSITIVE_INFINITY;
  private readonly clock: () => number;

  constructor(opts: PacerOptions = {}) {
    this.clock = opts.clock ?? nowUs;
  }

  /** Runs `fn` once, `delay` µs from now (0 = on the next loop turn). */
  after(delay: number, fn: () => void): PacerHandle {
    return this.at(this.clock() + Math.max(0, delay), fn);
  }

  /** Runs `fn` once at clock time `atUs`. */
  at(atUs: number, fn: () => void): PacerHandle {
    const e: PacerEntry = { atUs, seq: this.seq++, fn, cancelled: false };
    this.push(e);
    this.arm();
    return {
      cancel: () => {
        e.cancelled = true;
      },
    };
  }

  /** Pending (not cancelled) callbacks. */
  get size(): number {
    let n = 0;
    for (const e of this.heap) if (!e.cancelled) n++;
    return n;
  }

  /** Drop every pending callback and stop the timer. */
  close(): void {
    this.heap.length = 0;
    this.disarm();
  }

  private arm(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    const first = this.heap[0];
    if (!first) {
      this.disarm();
      return;
    }
    if (first.atUs >= this.armedForUs && (this.timer || this.immediate)) return;
    this.disarm();
    this.armedForUs = first.atUs;
    const wait = first.atUs - this.clock();
    if (wait <= 0) {
      this.immediate = setImmediate(this.fire);
    } else {
      // Rounded up: a timer that fires before the deadline would only cost a second wakeup.
      this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(wait / 1000)));
    }
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    this.armedForUs = Number.POSITIVE_INFINITY;
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.immediate = null;
    this.armedForUs = Number.POSITIVE_INFINITY;
    const now = this.clock();
    const due: PacerEntry[] = [];
    while (this.heap.length > 0 && this.heap[0]!.atUs <= now) due.push(this.pop()!);
    for (const e of due) {
      if (e.cancelled) continue;
      try {
        e.fn();
      } catch (err) {
        // One sender's bug must not stop the others' wakeups.
        process.emitWarning(`pacer callback threw: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.arm();
  };

  private less(a: PacerEntry, b: PacerEntry): boolean {
    return a.atUs < b.atUs || (a.atUs === b.atUs && a.seq < b.seq);
  }

  private push(e: PacerEntry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): PacerEntry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
