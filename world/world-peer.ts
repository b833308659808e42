// The seam between the world and the engine: one world peer = one engine Session with one torrent,
// its own port, peer id and upload cap, running the standard policy (or --world-alg in-process).
import type { WorldContent } from './content.js';

export interface WorldPeerSpec {
  readonly index: number;
  readonly content: WorldContent;
  /** Its data folder (already holding its stage's pieces). */
  readonly dir: string;
  readonly uploadBps: number;
  readonly peerId: Buffer;
  readonly worldAlg?: string;
}

export interface WorldPeer {
  readonly port: number;
  readonly complete: boolean;
  onComplete(cb: () => void): void;
  rates(): { upBps: number; downBps: number };
  close(): Promise<void>;
}

export async function startWorldPeer(_spec: WorldPeerSpec): Promise<WorldPeer> {
  throw new Error('the engine Session is not available yet');
}
