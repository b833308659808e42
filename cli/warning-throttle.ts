// Which warnings `download` and `seed` show without -v or --json. A dead tracker, a peer sending bad
// pieces or a slow disk is worth knowing about, but a tracker retried every few seconds, or one tracker
// down for a thousand seeded torrents, must not bury the progress lines. So a warning is shown unless
// one of the same shape (its digits aside) was shown within the window, and at most a few are shown per
// window in all; the first one held back says once that -v shows them all.

import type { EventEmitter } from 'node:events';
import type { ProgressReporter } from './progress.js';

export const WARNING_WINDOW_MS = 60_000;
export const WARNINGS_PER_WINDOW = 5;
/** Shapes remembered at most (older ones are forgotten first): bounded memory for a long-running seed. */
const MAX_SHAPES = 1000;

export const HELD_BACK_NOTE = 'further warnings like these are held back; -v shows them all';

export class WarningThrottle {
  /** When a warning of each shape was last shown (ms), in the order they were shown. */
  private readonly lastShownMs = new Map<string, number>();
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private shownInWindow = 0;
  private noted = false;
  /** Warnings held back so far. */
  heldBack = 0;

  constructor(
    private readonly windowMs = WARNING_WINDOW_MS,
    private readonly perWindow = WARNINGS_PER_WINDOW,
  ) {}

  /** The lines to print for warning `text` at `nowMs`: the warning, the held-back note, or nothing. */
  admit(text: string, nowMs: number): string[] {
    const shape = text.replace(/\d+/g, '#');
    const last = this.lastShownMs.get(shape);
    if (nowMs - this.windowStartMs >= this.windowMs) {
      this.windowStartMs = nowMs;
      this.shownInWindow = 0;
    }
    if ((last !== undefined && nowMs - last < this.windowMs) || this.shownInWindow >= this.perWindow) {
      this.heldBack++;
      if (this.noted) return [];
      this.noted = true;
      return [HELD_BACK_NOTE];
    }
    this.shownInWindow++;
    this.lastShownMs.delete(shape);
    this.lastShownMs.set(shape, nowMs);
    if (this.lastShownMs.size > MAX_SHAPES) this.lastShownMs.delete(this.lastShownMs.keys().next().value!);
    return [text];
  }
}

/** Prints the 'warning' events of `source` through `reporter`: every one, or as the throttle admits them. */
export function showWarnings(source: EventEmitter, reporter: ProgressReporter, every: boolean): void {
  const throttle = every ? null : new WarningThrottle();
  source.on('warning', (m: string) => {
    for (const line of throttle ? throttle.admit(m, Date.now()) : [m]) reporter.message('warning', line);
  });
}
