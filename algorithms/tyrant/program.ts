// tyrant's DSL program: what the agent needs to rank peers, reported every `reportMs` and at once when
// a choke or interest flag changes (so a peer that unchokes us can be reciprocated without waiting).

/** Report variables, as onReport receives them (booleans arrive as 0/1). */
export interface TyrantReport {
  /** Smoothed payload rate from / to this peer, bytes/s. */
  rate_in: number;
  rate_out: number;
  /** Cumulative payload bytes from / to this peer. */
  bytes_recv: number;
  bytes_sent: number;
  /** The peer chokes us. */
  choking: number | boolean;
  /** The peer wants our data. */
  interested: number | boolean;
  /** We want its data (it has pieces we lack). */
  am_interested: number | boolean;
  /** Pieces the peer has (its growth is the peer's download rate: BitTyrant's estimate of its capacity). */
  pieces: number;
  seeding: number | boolean;
}

export function tyrantProgram(reportMs: number): string {
  const us = Math.round(reportMs * 1000);
  return `
(def (Report (rate_in 0) (rate_out 0) (bytes_recv 0) (bytes_sent 0) (choking true) (interested false)
             (am_interested false) (pieces 0) (seeding false)))
(when (or (> Micros ${us}) Event.state_change)
  (:= Report.rate_in Flow.rate_in)
  (:= Report.rate_out Flow.rate_out)
  (:= Report.bytes_recv Flow.bytes_recv)
  (:= Report.bytes_sent Flow.bytes_sent)
  (:= Report.choking Flow.peer_choking)
  (:= Report.interested Flow.peer_interested)
  (:= Report.am_interested Flow.am_interested)
  (:= Report.pieces Flow.peer_pieces)
  (:= Report.seeding Torrent.seeding)
  (report))
`;
}
