// `tft`: the standard BEP 3 choker written as an algorithm, deciding as the engine's built-in policy
// does (datapath/swarm/choker.ts): `slots` regular upload slots (4) for the interested peers that give
// us most (rate received) while downloading, or — seeding — for those we have given least (round
// robin); plus one optimistic unchoke rotated every 30 s; peers that snub us lose their regular slot
// (anti-snubbing); rechoke every 10 s, and a free slot is given at once when a peer turns interested.
// `--set seeding=rate` orders seeding slots by rate sent instead (mainline's old seeding choker).
// Reacts to: per-flow reports (rates, interest, snubbing) every second and on interest changes.
import { Algorithm, SwarmPolicy, type Params, type TorrentView } from '../agent/api.js';

/** Once a second, and at once when a choke/interest flag changes. */
export const TFT_PROGRAM = `
(def (Report (rate_in 0) (rate_out 0) (bytes_sent 0) (interested false) (snubbed false) (seeding false)))
(when (or (> Micros 1000000) Event.state_change)
  (:= Report.rate_in Flow.rate_in)
  (:= Report.rate_out Flow.rate_out)
  (:= Report.bytes_sent Flow.bytes_sent)
  (:= Report.interested Flow.peer_interested)
  (:= Report.snubbed Flow.snubbed)
  (:= Report.seeding Torrent.seeding)
  (report))
`;

export interface TftReport {
  rate_in: number;
  rate_out: number;
  bytes_sent: number;
  interested: number | boolean;
  snubbed: number | boolean;
  seeding: number | boolean;
}

/** One flow: remembers what it told the datapath about choking, so only changes are sent. */
export default class TftFlow extends Algorithm<TftReport> {
  /** What the datapath was last told (the flow starts choked until the swarm decides). */
  choked = true;
  /** Interest as of the previous report, to notice changes. */
  private wasInterested = false;

  onCreate(): void {
    this.datapath.install(TFT_PROGRAM, { Choke: true });
  }

  onReport(r: TftReport): void {
    const interested = Boolean(r.interested);
    this.interestChanged = interested !== this.wasInterested;
    this.wasInterested = interested;
  }

  /** Set by onReport; read by the swarm policy right after. */
  interestChanged = false;

  setChoked(choked: boolean): void {
    if (choked === this.choked) return;
    this.choked = choked;
    this.datapath.updateField('Choke', choked);
  }
}

const RECHOKE_MS = 10_000;
const OPTIMISTIC_MS = 30_000;

export class TftSwarm extends SwarmPolicy<TftFlow> {
  private readonly slots = Math.max(0, Math.floor(this.params.number('slots', 4)));
  private readonly seedingByRate = this.params.string('seeding', 'least-served') === 'rate';
  private readonly rechokeMs = this.params.number('rechoke', RECHOKE_MS);
  private readonly optimisticMs = this.params.number('optimistic', OPTIMISTIC_MS);
  private optimistic: TftFlow | null = null;
  private lastRechokeMs = -Infinity;
  private lastOptimisticMs = -Infinity;
  override tickMs = 1000;

  override onTick(t: TorrentView<TftFlow>): void {
    const rotate = t.nowMs - this.lastOptimisticMs >= this.optimisticMs;
    if (rotate || t.nowMs - this.lastRechokeMs >= this.rechokeMs) this.rechoke(t, rotate);
  }

  override onReport(flow: TftFlow, t: TorrentView<TftFlow>): void {
    // The first report of a flow, or a peer turning interested: give a free slot at once.
    const r = flow.lastReport;
    if (!r || !flow.interestChanged || !Boolean(r.interested) || !flow.choked) return;
    let unchoked = 0;
    for (const f of t.flows) if (!f.choked && Boolean(f.lastReport?.interested)) unchoked++;
    if (unchoked < this.slots + 1) flow.setChoked(false);
  }

  override onFlowRemoved(flow: TftFlow): void {
    if (this.optimistic === flow) this.optimistic = null;
  }

  private rechoke(t: TorrentView<TftFlow>, rotate: boolean): void {
    this.lastRechokeMs = t.nowMs;
    if (rotate) this.lastOptimisticMs = t.nowMs;
    const known = t.flows.filter((f) => f.lastReport !== null);
    const seeding = t.stats?.seeding ?? known.some((f) => Boolean(f.lastReport!.seeding));
    const interested = known.filter((f) => Boolean(f.lastReport!.interested));
    const regular = seeding
      ? [...interested].sort((a, b) =>
          this.seedingByRate ? b.lastReport!.rate_out - a.lastReport!.rate_out : a.lastReport!.bytes_sent - b.lastReport!.bytes_sent,
        )
      : interested.filter((f) => !Boolean(f.lastReport!.snubbed)).sort((a, b) => b.lastReport!.rate_in - a.lastReport!.rate_in);
    const unchoke = new Set<TftFlow>(regular.slice(0, this.slots));
    let opt = rotate ? null : this.optimistic;
    if (opt !== null && (!interested.includes(opt) || unchoke.has(opt))) opt = null;
    if (opt === null) {
      const pool = interested.filter((f) => !unchoke.has(f));
      if (pool.length > 0) opt = pool[Math.floor(Math.random() * pool.length)]!;
    }
    this.optimistic = opt;
    if (opt !== null) unchoke.add(opt);
    for (const f of known) {
      if (unchoke.has(f)) f.setChoked(false);
      else if (Boolean(f.lastReport!.interested)) f.setChoked(true);
    }
  }
}

export const swarm = TftSwarm;

export const describe = 'the standard BEP 3 choker (4 slots by rate, optimistic unchoke, anti-snubbing) as an algorithm';

export function checkParams(params: Params): void {
  const slots = params.number('slots', 4);
  if (!(slots >= 0 && slots <= 1000)) throw new Error(`tft: --set slots=${slots} must be 0..1000`);
  const mode = params.string('seeding', 'least-served');
  if (mode !== 'least-served' && mode !== 'rate') throw new Error(`tft: --set seeding=${mode}: expected least-served or rate`);
  for (const key of ['rechoke', 'optimistic']) {
    const v = params.number(key, 1);
    if (!(v > 0)) throw new Error(`tft: --set ${key}=${v} must be a positive number of ms`);
  }
}
