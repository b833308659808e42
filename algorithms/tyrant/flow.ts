// One peer as tyrant sees it: d_p (what it gives us), u_p (what we must give it to be reciprocated), and
// what the datapath was last told (Choke, Rate), so only changes are sent. The swarm policy decides;
// this class keeps the per-peer estimates current from the program's reports.
import { Algorithm, type ReportMeta } from '../../agent/api.js';
import { readTyrantConfig, upperBps, type TyrantConfig } from './config.js';
import { tyrantProgram, type TyrantReport } from './program.js';

/** HAVE-rate samples are taken over at least this long (a piece or two per sample is too noisy). */
const PIECE_WINDOW_US = 2_000_000;

export class TyrantFlow extends Algorithm<TyrantReport> {
  readonly cfg: TyrantConfig = this.shared('tyrant.config', () => readTyrantConfig(this.params));

  // ---- what the datapath was told ----
  /** The flow starts choked until the swarm policy decides. */
  choked = true;
  /** The Rate we set while unchoked (bytes/s); 0 before the first unchoke. */
  rateBps = 0;
  /** Agent clock (ms) when we last unchoked it; a raise needs a whole round of our upload. */
  unchokedSinceMs = Infinity;
  /** Agent clock (ms) when it last had an explore slot (least recently explored goes first). */
  exploredAtMs = -Infinity;
  /** Whether its current unchoke is an explore slot. */
  exploring = false;

  // ---- estimates ----
  /** u_p, bytes/s: NaN until first needed. */
  upBps = NaN;
  /** d_p measured: its rate to us while it unchoked us (bytes/s; 0 = never seen). */
  recipBps = 0;
  /** The peer's own download rate from its HAVEs (bytes/s), BitTyrant's proxy for its capacity. */
  peerDownBps = 0;
  /** Consecutive rounds it kept unchoking us while we unchoked it. */
  reciprocatedRounds = 0;
  /** Raises and trims so far (for logs and tests). */
  raises = 0;
  trims = 0;

  // ---- flags from the latest report ----
  peerChoking = true;
  peerInterested = false;
  amInterested = false;
  seeding = false;
  /** Set by onReport when a choke/interest flag changed; read by the swarm policy right after. */
  flagsChanged = false;
  /** The peer's choke flag flipped to "unchoked" in the latest report. */
  justUnchokedUs = false;

  private anchorPieces = -1;
  private anchorUs = 0;

  onCreate(): void {
    this.datapath.install(tyrantProgram(this.cfg.reportMs), { Choke: true });
  }

  onReport(r: TyrantReport & ReportMeta): void {
    const choking = Boolean(r.choking);
    const interested = Boolean(r.interested);
    const amInterested = Boolean(r.am_interested);
    this.justUnchokedUs = this.peerChoking && !choking;
    this.flagsChanged = choking !== this.peerChoking || interested !== this.peerInterested || amInterested !== this.amInterested;
    this.peerChoking = choking;
    this.peerInterested = interested;
    this.amInterested = amInterested;
    this.seeding = Boolean(r.seeding);
    // What it gives us is only measured while it unchokes us; otherwise the last measure stands.
    if (!choking && Number.isFinite(r.rate_in) && r.rate_in > 0) this.recipBps = r.rate_in;
    this.notePieces(r.pieces, r.timeUs);
  }

  /** d_p: what this peer gives us now (0 if it has nothing we want). */
  downEstimateBps(): number {
    if (!this.amInterested) return 0;
    if (this.recipBps > 0) return this.recipBps;
    return this.peerDownBps > 0 ? this.peerDownBps / this.cfg.peerSlots : 0;
  }

  /** u_p, initialised on first use: the peer's equal split when its HAVEs tell it, else `start`. */
  upNeedBps(): number {
    if (Number.isNaN(this.upBps)) {
      const split = this.peerDownBps > 0 ? this.peerDownBps / this.cfg.peerSlots : this.cfg.startBps;
      this.upBps = this.clampUp(split);
    }
    return this.upBps;
  }

  /**
   * The end of a decision round: trim u_p if the peer kept reciprocating for `trimAfter` rounds, raise it
   * if we gave it the whole round and it choked us although it has what we want.
   */
  endRound(roundStartMs: number): void {
    // Only a round in which it had our upload throughout says anything about its price.
    if (this.choked || this.unchokedSinceMs > roundStartMs) return;
    if (!this.peerChoking) {
      this.reciprocatedRounds++;
      if (this.reciprocatedRounds >= this.cfg.trimAfter) {
        this.upBps = this.clampUp(this.upNeedBps() * this.cfg.trim);
        this.trims++;
      }
    } else {
      this.reciprocatedRounds = 0;
      if (this.amInterested) {
        this.upBps = this.clampUp(this.upNeedBps() * this.cfg.raise);
        this.raises++;
      }
    }
  }

  /** Tells the datapath to unchoke at `rateBps` (changes only). */
  unchoke(rateBps: number, nowMs: number, exploring: boolean): void {
    const rate = Math.max(1, Math.round(rateBps));
    this.exploring = exploring;
    if (exploring) this.exploredAtMs = nowMs;
    if (this.choked) {
      this.choked = false;
      this.unchokedSinceMs = nowMs;
      this.rateBps = rate;
      this.datapath.updateFields({ Rate: rate, Choke: false });
      return;
    }
    if (rate !== this.rateBps) {
      this.rateBps = rate;
      this.datapath.updateField('Rate', rate);
    }
  }

  choke(): void {
    this.exploring = false;
    if (this.choked) return;
    this.choked = true;
    this.unchokedSinceMs = Infinity;
    this.reciprocatedRounds = 0;
    this.datapath.updateField('Choke', true);
  }

  private clampUp(bps: number): number {
    return Math.min(upperBps(this.cfg), Math.max(this.cfg.minBps, bps));
  }

  private notePieces(pieces: number, timeUs: number): void {
    if (!Number.isFinite(pieces) || !Number.isFinite(timeUs)) return;
    if (this.anchorPieces < 0 || pieces < this.anchorPieces) {
      this.anchorPieces = pieces;
      this.anchorUs = timeUs;
      return;
    }
    const elapsedUs = timeUs - this.anchorUs;
    if (elapsedUs < PIECE_WINDOW_US) return;
    const sample = ((pieces - this.anchorPieces) * this.info.pieceLength) / (elapsedUs / 1e6);
    this.peerDownBps = this.peerDownBps > 0 ? 0.5 * this.peerDownBps + 0.5 * sample : sample;
    this.anchorPieces = pieces;
    this.anchorUs = timeUs;
  }
}
