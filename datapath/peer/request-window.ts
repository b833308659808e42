// How many block requests to keep in flight to one peer, the way libtorrent sizes its queue: enough
// to cover QUEUE_TIME of transfer at the peer's measured rate, grown quickly at first (slow start:
// +1 per block received while the rate keeps rising), at least MIN and at most MAX (and the peer's
// own `reqq` limit). A snubbing peer gets one request at a time.
import { BLOCK_SIZE } from '../wire/messages.js';

export const MIN_WINDOW = 4;
export const MAX_WINDOW = 250;
const QUEUE_TIME_S = 2;
const SLOW_START_WINDOW = 8;

export class RequestWindow {
  private slowStart = SLOW_START_WINDOW;
  private inSlowStart = true;
  private lastRate = 0;

  /** `blocks` blocks arrived (one read's worth). */
  onBlocks(blocks: number): void {
    if (this.inSlowStart) this.slowStart = Math.min(MAX_WINDOW, this.slowStart + blocks);
  }

  /** Once a second: leave slow start when the rate stops rising (<10% gain). */
  onTick(rateInBps: number): void {
    if (!this.inSlowStart) return;
    if (this.lastRate > 0 && rateInBps < this.lastRate * 1.1) {
      this.inSlowStart = false;
    }
    this.lastRate = rateInBps;
  }

  /** The automatic window for a peer measured at `rateInBps`; `peerLimit` is its reqq, if it sent one. */
  size(rateInBps: number, snubbed: boolean, peerLimit: number): number {
    if (snubbed) return 1;
    const byRate = Math.ceil((rateInBps * QUEUE_TIME_S) / BLOCK_SIZE);
    const want = Math.max(byRate, this.inSlowStart ? this.slowStart : 0, MIN_WINDOW);
    return Math.min(want, MAX_WINDOW, peerLimit);
  }
}
