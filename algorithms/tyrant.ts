// `tyrant`: give less for more, in the spirit of BitTyrant (Piatek et al., NSDI 2007). Per peer it
// estimates d_p (what the peer gives us: its rate to us while it unchokes us, else its HAVE rate split
// over its slots) and u_p (the upload it takes to be reciprocated: starts at the peer's equal split or
// `start`, ×raise after a round in which we served it and it choked us, ×trim after `trimAfter` rounds
// in which it kept reciprocating). Every `round` ms the swarm hook unchokes the peers with the best
// d_p/u_p until `budget` is spent, each at just its u_p (per-flow Rate), plus `explore` slot(s) for
// peers it has no measure of yet. Seeding: least-served round robin, `seedTotal` split over `seedSlots`.
// Settings and defaults: algorithms/tyrant/config.ts and docs/tyrant.md.
import type { Params } from '../agent/api.js';
import { readTyrantConfig } from './tyrant/config.js';
import { TyrantFlow } from './tyrant/flow.js';
import { TyrantSwarm } from './tyrant/swarm.js';

export default TyrantFlow;
export const swarm = TyrantSwarm;

export const describe = 'BitTyrant-style: unchoke the best return (d_p/u_p) within an upload budget, each peer at just what keeps it reciprocating';

export function checkParams(params: Params): void {
  readTyrantConfig(params);
}

export { TyrantFlow, TyrantSwarm };
export { TYRANT_DEFAULTS, readTyrantConfig, type TyrantConfig } from './tyrant/config.js';
export { tyrantProgram, type TyrantReport } from './tyrant/program.js';
export { selectUnchokes, type Candidate, type Selection } from './tyrant/select.js';
