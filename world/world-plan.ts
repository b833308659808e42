// Who is in the world, drawn from the seed before anything starts: each peer's upload cap and the
// pieces it starts with. The same seed gives the same plan, so every algorithm meets the same world.
import type { WorldConfig } from './config.js';
import { sampleDistribution } from './distribution.js';
import { rngFor } from './random.js';
import { stagePieces } from './content.js';

export interface PlannedPeer {
  readonly index: number;
  readonly uploadBps: number;
  /** Starting completion in [0, 1]; 1 for a seed. */
  readonly stage: number;
  readonly pieces: readonly number[];
  readonly peerIdHex: string;
}

export interface WorldPlan {
  readonly ours: readonly PlannedPeer[];
  readonly external: readonly PlannedPeer[];
}

export function planWorld(c: WorldConfig, pieceCount: number, seed: number): WorldPlan {
  const total = c.peers + c.external.reduce((a, e) => a + e.count, 0);
  const all: PlannedPeer[] = [];
  for (let i = 0; i < total; i++) {
    // One stream per peer: adding peers does not change the ones before them.
    const rng = rngFor(seed, `peer-${i}`);
    const uploadBps = Math.round(sampleDistribution(c.upload, rng));
    const stage = i < c.seeds ? 1 : sampleDistribution(c.stages, rng);
    const pieces = stagePieces(rng, pieceCount, stage);
    all.push({ index: i, uploadBps, stage, pieces, peerIdHex: rng.peerId('-CB0100-').toString('hex') });
  }
  return { ours: all.slice(0, c.peers), external: all.slice(c.peers) };
}
