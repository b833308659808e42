// An algorithm written as a user would: "give to those who give".
//
//   ccp-bt connect --alg ./examples/reciprocal.ts --set ratio=1.5 --set floor=20k
//
// While we are downloading, each peer's upload cap follows what that peer gives us: `ratio` times its
// download rate to us, but never below `floor` (so a newcomer with nothing to give can still start —
// BitTorrent's optimistic spirit). Once we seed, nobody can give us anything, so caps come off.
//
// The work is split the CCP way: the program below runs in the datapath on every event and only
// measures; the decision runs here, in TypeScript, once per report.

// Algorithms import only the agent API (a file outside this repository would import it from the
// installed package instead).
import { Algorithm, program, type Params } from '../agent/api.js';

// The datapath program (the lisp-like DSL, docs/dsl.md). Every 500 ms it reports how many payload
// bytes moved each way, and whether the torrent is complete. `volatile` variables restart at 0
// after each (report); `Micros` counts µs since the last report.
const MEASURE = program(
  `
(def (Report
       (volatile sent 0)     # payload bytes we uploaded to this peer since the last report
       (volatile recv 0)     # payload bytes this peer gave us since the last report
       (seeding false)))     # we have every piece

(when true
  (:= Report.sent (+ Report.sent Event.sent))
  (:= Report.recv (+ Report.recv Event.recv))
  (fallthrough))

(when (> Micros 500000)
  (:= Report.seeding Torrent.seeding)
  (report))
`,
  'reciprocal-measure',
);

// The shape of a report: one field per Report variable, plus timeUs/flowId/programId/epoch.
interface Measure {
  sent: number;
  recv: number;
  seeding: number | boolean;
  timeUs: number;
}

// One instance per flow (peer connection). `this.params` holds the --set values; `this.info` says
// who the peer is; `this.datapath` installs programs and sets fields.
export default class Reciprocal extends Algorithm<Measure> {
  private readonly ratio = this.params.number('ratio', 1.5);
  private readonly floorBps = this.params.rate('floor', 20_000);
  private lastTimeUs = 0;
  /** Smoothed bytes/s this peer gives us. */
  private givesBps = 0;
  private capBps = this.floorBps;

  onCreate(): void {
    // Start every peer at the floor: it earns more by giving.
    this.datapath.install(MEASURE, { Rate: this.capBps });
  }

  onReport(r: Measure): void {
    const dtS = this.lastTimeUs > 0 ? (r.timeUs - this.lastTimeUs) / 1e6 : 0.5;
    this.lastTimeUs = r.timeUs;
    if (dtS <= 0) return;
    // An exponentially weighted average keeps one slow half-second from cutting a good peer off.
    this.givesBps = 0.7 * this.givesBps + 0.3 * (r.recv / dtS);
    const cap = r.seeding ? 0 : Math.max(this.floorBps, Math.round(this.ratio * this.givesBps));
    // Only changes travel to the datapath; 0 means "no cap".
    if (Math.abs(cap - this.capBps) > 0.02 * Math.max(cap, this.capBps)) {
      this.capBps = cap;
      this.datapath.updateField('Rate', cap);
    }
  }

  override onClose(): void {
    this.log(`closed: it gave us ~${Math.round(this.givesBps)} B/s at the end`);
  }
}

// Shown by `ccp-bt connect --list`-style tools, and checked before anything starts.
export const describe = 'caps each peer at ratio × what it gives us (at least floor) while downloading';

export function checkParams(params: Params): void {
  const ratio = params.number('ratio', 1.5);
  if (!(ratio > 0)) throw new Error(`--set ratio=${ratio} must be above 0`);
  if (params.rate('floor', 20_000) <= 0) throw new Error('--set floor must be above 0 (0 would mean no cap)');
}
