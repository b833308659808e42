// `aimd`: per-peer upload Rate by additive increase, multiplicative decrease (TCP's rule applied to a
// BitTorrent upload). Every report (200 ms): while the peer keeps asking (Flow.peer_requests > 0),
// our send queue stays short and we actually use the cap, raise the cap by `step`; when bytes pile up
// in front of the socket (Flow.queue_bytes above `queue`) or request→block latency grows well past
// its minimum (our uplink is full: our own requests queue behind our uploads), multiply it by `beta`,
// at most once per `hold` ms. Constants (all `--set`): start=64k step=16k beta=0.7 min=16k max=0
// (0 = none) queue=64k latency=2 (× base latency) slack=20000 (µs) hold=500 (ms).
import { Algorithm, type Params } from '../agent/api.js';

/** Reports every 200 ms: bytes sent, the worst send queue seen, the peer's waiting requests, latency. */
export const AIMD_PROGRAM = `
(def (Report (volatile sent 0) (volatile queue 0) (requests 0) (rtt 0)))
(when true
  (:= Report.sent (+ Report.sent Event.sent))
  (:= Report.queue (max Report.queue Flow.queue_bytes))
  (fallthrough))
(when (> Micros 200000)
  (:= Report.requests Flow.peer_requests)
  (:= Report.rtt Flow.rtt_us)
  (report))
`;

interface AimdReport {
  sent: number;
  queue: number;
  requests: number;
  rtt: number;
}

/** A minimum over a sliding window, kept as two halves (cheap, forgets old minima). */
class WindowedMin {
  private current = Infinity;
  private previous = Infinity;
  private startedMs = 0;
  constructor(private readonly windowMs: number) {}
  add(v: number, nowMs: number): void {
    if (nowMs - this.startedMs > this.windowMs / 2) {
      this.previous = this.current;
      this.current = Infinity;
      this.startedMs = nowMs;
    }
    if (v < this.current) this.current = v;
  }
  get value(): number {
    return Math.min(this.current, this.previous);
  }
}

export default class Aimd extends Algorithm<AimdReport> {
  private readonly startBps = this.params.rate('start', 64_000);
  private readonly stepBps = this.params.rate('step', 16_000);
  private readonly beta = this.params.number('beta', 0.7);
  private readonly minBps = this.params.rate('min', 16_000);
  private readonly maxBps = this.params.rate('max', 0);
  private readonly queueLimit = this.params.bytes('queue', 64 * 1024);
  private readonly latencyFactor = this.params.number('latency', 2);
  private readonly slackUs = this.params.number('slack', 20_000);
  private readonly holdMs = this.params.number('hold', 500);

  private rateBps = this.clamp(this.startBps);
  private lastTimeUs = 0;
  private lastDecreaseMs = -Infinity;
  private readonly baseRtt = new WindowedMin(60_000);
  /** Increases and decreases so far (for logs and tests). */
  increases = 0;
  decreases = 0;

  onCreate(): void {
    this.datapath.install(AIMD_PROGRAM, { Rate: this.rateBps });
  }

  onReport(r: AimdReport & { timeUs: number }): void {
    const nowMs = r.timeUs / 1000;
    const dtS = this.lastTimeUs > 0 ? Math.max(0.001, (r.timeUs - this.lastTimeUs) / 1e6) : 0.2;
    this.lastTimeUs = r.timeUs;
    const sentBps = r.sent / dtS;
    if (r.rtt > 0) this.baseRtt.add(r.rtt, nowMs);
    const base = this.baseRtt.value;
    const latencyHigh = r.rtt > 0 && Number.isFinite(base) && r.rtt > base * this.latencyFactor + this.slackUs;
    const congested = r.queue > this.queueLimit || latencyHigh;
    let next = this.rateBps;
    if (congested) {
      if (nowMs - this.lastDecreaseMs >= this.holdMs) {
        next = this.rateBps * this.beta;
        this.lastDecreaseMs = nowMs;
        this.decreases++;
      }
    } else if (r.requests > 0 && sentBps >= 0.8 * this.rateBps) {
      // Only grow a cap that binds: a peer asking slowly gains nothing from a higher one.
      next = this.rateBps + this.stepBps;
      this.increases++;
    }
    next = this.clamp(next);
    if (Math.round(next) !== Math.round(this.rateBps)) {
      this.rateBps = next;
      this.datapath.updateField('Rate', Math.round(next));
    }
  }

  private clamp(bps: number): number {
    let v = Math.max(this.minBps, bps);
    if (this.maxBps > 0) v = Math.min(this.maxBps, v);
    return v;
  }
}

export const describe = 'per-peer upload rate: additive increase while the peer asks, multiplicative decrease on queue or latency growth';

export function checkParams(params: Params): void {
  const beta = params.number('beta', 0.7);
  if (!(beta > 0 && beta < 1)) throw new Error(`aimd: --set beta=${beta} must be between 0 and 1`);
  const min = params.rate('min', 16_000);
  const max = params.rate('max', 0);
  if (min <= 0) throw new Error('aimd: --set min must be above 0 (a cap of 0 would mean no cap)');
  if (max > 0 && max < min) throw new Error(`aimd: --set max=${max} is below min=${min}`);
  params.rate('start', 64_000);
  params.rate('step', 16_000);
  params.bytes('queue', 64 * 1024);
  params.number('latency', 2);
  params.number('slack', 20_000);
  params.number('hold', 500);
}
