// `fixed`: static upload caps. `--set rate=50k` caps every peer at 50 kB/s; `--set total=1M` shares
// 1 MB/s among all the agent's active flows (every datapath, every torrent), split evenly; with both,
// each flow gets the smaller of the two. `--set down=200k` caps what every peer sends us (RateIn, per
// flow; static, not shared). Reacts to: a flow becoming active or idle (interested and
// asking, or sending), flows opening and closing — each changes the split of `total`.
import { Algorithm, type Params } from '../agent/api.js';

/** Every 500 ms: payload sent in the interval, and whether the peer still wants data. */
export const FIXED_PROGRAM = `
(def (Report (volatile sent 0) (interested false) (requests 0)))
(when true
  (:= Report.sent (+ Report.sent Event.sent))
  (fallthrough))
(when (> Micros 500000)
  (:= Report.interested Flow.peer_interested)
  (:= Report.requests Flow.peer_requests)
  (report))
`;

interface FixedReport {
  sent: number;
  interested: boolean | number;
  requests: number;
}

/** A shared budget: `total` bytes/s split evenly among the flows that are active. */
class SharedTotal {
  private readonly members = new Set<Fixed>();
  private readonly active = new Set<Fixed>();
  constructor(readonly totalBps: number) {}

  join(f: Fixed): void {
    this.members.add(f);
    this.rebalance();
  }
  leave(f: Fixed): void {
    this.members.delete(f);
    this.active.delete(f);
    this.rebalance();
  }
  setActive(f: Fixed, active: boolean): void {
    const was = this.active.has(f);
    if (was === active) return;
    if (active) this.active.add(f);
    else this.active.delete(f);
    this.rebalance();
  }
  /** Idle flows get the share a newcomer would get, so one that wakes up can start at once. */
  share(f: Fixed): number {
    const n = this.active.has(f) ? this.active.size : this.active.size + 1;
    return Math.floor(this.totalBps / Math.max(1, n));
  }
  private rebalance(): void {
    for (const m of this.members) m.applyCap();
  }
}

export default class Fixed extends Algorithm<FixedReport> {
  private readonly perFlowBps = this.params.rate('rate', 0);
  private readonly totalBps = this.params.rate('total', 0);
  private readonly downPerFlowBps = this.params.rate('down', 0);
  private readonly pool = this.totalBps > 0 ? this.shared('fixed.total', () => new SharedTotal(this.totalBps)) : null;
  private appliedBps = -1;
  private started = false;

  onCreate(): void {
    this.datapath.install(FIXED_PROGRAM, { Rate: this.cap(), RateIn: this.downPerFlowBps });
    this.appliedBps = this.cap();
    this.started = true;
    this.pool?.join(this);
  }

  onReport(r: FixedReport): void {
    const active = Boolean(r.interested) && (r.requests > 0 || r.sent > 0);
    this.pool?.setActive(this, active);
  }

  override onClose(): void {
    this.started = false;
    this.pool?.leave(this);
  }

  /** The cap this flow should have now (bytes/s; 0 = none). */
  cap(): number {
    const share = this.pool ? this.pool.share(this) : 0;
    if (this.perFlowBps > 0 && share > 0) return Math.min(this.perFlowBps, share);
    return this.perFlowBps > 0 ? this.perFlowBps : share;
  }

  /** Called by the shared total when the split changes. */
  applyCap(): void {
    if (!this.started) return;
    const cap = this.cap();
    if (cap === this.appliedBps) return;
    this.appliedBps = cap;
    this.datapath.updateField('Rate', cap);
  }
}

export const describe = 'static caps: --set rate=50k upload per peer, --set total=1M upload shared by all active flows, --set down=200k download per peer';

export function checkParams(params: Params): void {
  const rate = params.rate('rate', 0);
  const total = params.rate('total', 0);
  const down = params.rate('down', 0);
  if (rate <= 0 && total <= 0 && down <= 0) {
    throw new Error('fixed needs --set rate=RATE (upload per peer), --set total=RATE (upload shared) and/or --set down=RATE (download per peer), e.g. rate=50k');
  }
}
