// A smoothed rate (bytes/s) that is current at every event: an exponentially decaying byte sum with
// time constant `tauUs`; at a steady rate r the sum approaches r·tau, so rate = sum / tau.
// O(1) per sample, no timers, no arrays.

export class RateMeter {
  private sum = 0;
  private lastUs = Number.NaN;

  constructor(private readonly tauUs = 2_000_000) {}

  add(bytes: number, nowUs: number): void {
    // decay() inlined: this runs for every block, mostly in V8's baseline tier, where a call costs.
    const dt = nowUs - this.lastUs;
    if (dt > 0) {
      this.lastUs = nowUs;
      this.sum *= dt < 50 ? 1 - dt / this.tauUs : Math.exp(-dt / this.tauUs);
    } else if (Number.isNaN(dt)) {
      this.lastUs = nowUs;
    }
    this.sum += bytes;
  }

  /** Bytes/s as of `nowUs`. */
  rate(nowUs: number): number {
    this.decay(nowUs);
    return (this.sum * 1e6) / this.tauUs;
  }

  private decay(nowUs: number): void {
    if (Number.isNaN(this.lastUs)) {
      this.lastUs = nowUs;
      return;
    }
    const dt = nowUs - this.lastUs;
    if (dt <= 0) return;
    this.lastUs = nowUs;
    // exp is ~20 ns; skip it for the many back-to-back samples of a busy flow.
    this.sum *= dt < 50 ? 1 - dt / this.tauUs : Math.exp(-dt / this.tauUs);
  }
}
