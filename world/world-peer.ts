// The seam between the world and the engine: one world peer = one engine Session with one torrent,
// its own port, peer id and upload cap, running the standard policy (or --world-alg in-process).
import { Session } from '../datapath/index.js';
import { startControl } from '../control-plane/start-control.js';
import type { WorldContent } from './content.js';

export interface WorldPeerSpec {
  readonly index: number;
  /** Unique per incarnation (the in-process agent is named after it). */
  readonly name: string;
  readonly content: WorldContent;
  /** Its data folder (already holding its stage's pieces). */
  readonly dir: string;
  readonly uploadBps: number;
  readonly peerId: Buffer;
  readonly worldAlg?: string;
  readonly worldSet?: readonly string[];
  readonly log?: (msg: string) => void;
}

export interface WorldPeer {
  readonly port: number;
  readonly complete: boolean;
  onComplete(cb: () => void): void;
  rates(): { upBps: number; downBps: number };
  close(): Promise<void>;
}

export async function startWorldPeer(spec: WorldPeerSpec): Promise<WorldPeer> {
  const session = new Session({ host: '127.0.0.1', port: 0, maxUpBps: spec.uploadBps, peerId: spec.peerId, log: spec.log });
  let detach: (() => Promise<void>) | undefined;
  try {
    const port = await session.listen();
    const torrent = await session.addTorrent(spec.content.meta, spec.dir, { seed: true });
    // --world-alg: an in-process agent steers this peer's flows, as `download --alg` would.
    if (spec.worldAlg) detach = await startControl(session, { alg: spec.worldAlg, set: [...(spec.worldSet ?? [])] }, spec.name);
    return {
      port,
      get complete() {
        return torrent.complete;
      },
      onComplete(cb) {
        torrent.once('complete', cb);
      },
      rates() {
        const p = torrent.progress();
        return { upBps: p.rateOutBps, downBps: p.rateInBps };
      },
      async close() {
        await detach?.().catch(() => {});
        await session.close();
      },
    };
  } catch (err) {
    await detach?.().catch(() => {});
    await session.close().catch(() => {});
    throw err;
  }
}
