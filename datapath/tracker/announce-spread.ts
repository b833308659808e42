// Spreads the first announces of many torrents over time: one slot of `spacingMs` per torrent, each
// torrent at a random point inside its slot. N torrents started together announce over N × spacingMs
// (a window proportional to their number), torrents added later take the next free slot, and since
// every tier then follows its tracker's interval from its own first answer, re-announces stay spread.

export class AnnounceSpread {
  private nextSlotMs = 0;

  /** `spacingMs`: time per torrent; 0 = everyone at once. */
  constructor(readonly spacingMs: number, private readonly random: () => number = Math.random) {
    if (!Number.isFinite(spacingMs) || spacingMs < 0) throw new RangeError(`announce spacing must be ≥ 0 ms, got ${spacingMs}`);
  }

  /** Delay (ms) until the next torrent's first announce. */
  nextDelayMs(nowMs = Date.now()): number {
    if (this.spacingMs === 0) return 0;
    const slot = Math.max(nowMs, this.nextSlotMs);
    this.nextSlotMs = slot + this.spacingMs;
    return Math.round(slot - nowMs + this.random() * this.spacingMs);
  }

  /** How long the torrents already given slots take to announce for the first time. */
  backlogMs(nowMs = Date.now()): number {
    return Math.max(0, this.nextSlotMs - nowMs);
  }
}
