// The standard choking policy (BEP 3): a few upload slots for the interested peers that give us most
// (while downloading) or, while seeding, for those we have given least (a fair, round-robin-like
// share); one optimistic slot rotated every 30 s; snubbing peers lose their regular slot.
// Pure: it picks a set, the torrent sends the choke/unchoke messages.

export interface ChokeCandidate {
  readonly key: number;
  readonly interested: boolean;
  readonly snubbed: boolean;
  /** Payload bytes/s the peer sends us. */
  readonly rateIn: number;
  /** Payload bytes we sent it, ever (the seeding choker serves the least-served first). */
  readonly bytesSent: number;
}

export interface ChokeDecision {
  /** Keys to unchoke; every other candidate is choked. */
  readonly unchoke: Set<number>;
  readonly optimistic: number | null;
}

export interface ChokerOptions {
  slots: number;
  seeding: boolean;
  /** Keep this optimistic peer if it is still a candidate (null: choose a new one). */
  optimistic: number | null;
  random?: () => number;
}

export function decideChokes(peers: readonly ChokeCandidate[], opts: ChokerOptions): ChokeDecision {
  const interested = peers.filter((p) => p.interested);
  const regular = opts.seeding
    ? [...interested].sort((a, b) => a.bytesSent - b.bytesSent)
    : interested.filter((p) => !p.snubbed).sort((a, b) => b.rateIn - a.rateIn);
  const unchoke = new Set<number>();
  for (const p of regular) {
    if (unchoke.size >= opts.slots) break;
    unchoke.add(p.key);
  }
  let optimistic = opts.optimistic;
  const stillThere = optimistic !== null && interested.some((p) => p.key === optimistic);
  if (!stillThere || (optimistic !== null && unchoke.has(optimistic))) optimistic = null;
  if (optimistic === null) {
    const pool = interested.filter((p) => !unchoke.has(p.key));
    if (pool.length > 0) optimistic = pool[Math.floor((opts.random ?? Math.random)() * pool.length)]!.key;
  }
  if (optimistic !== null) unchoke.add(optimistic);
  return { unchoke, optimistic };
}
