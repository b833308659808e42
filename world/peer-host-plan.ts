// What the world-peer host process is told to run (written as JSON to a file it reads at start), and
// the JSON lines it prints back.

export interface PeerHostPeer {
  readonly index: number;
  readonly uploadBps: number;
  readonly pieces: readonly number[];
  readonly peerIdHex: string;
}

export interface PeerHostPlan {
  readonly torrentPath: string;
  /** The complete content, copied piece by piece into a peer's folder for its stage. */
  readonly dataPath: string;
  /** Folder under which each peer gets its own data folder. */
  readonly workDir: string;
  readonly seed: number;
  /** Text form of the stage distribution, for rebirths. */
  readonly stages: string;
  readonly rebirthPauseS: number;
  readonly worldAlg?: string;
  readonly worldSet?: readonly string[];
  readonly peers: readonly PeerHostPeer[];
}

export type PeerHostLine =
  | { readonly type: 'ready'; readonly ports: readonly number[] }
  | {
      readonly type: 'status';
      readonly alive: number;
      readonly seeding: number;
      readonly completions: number;
      readonly rebirths: number;
      readonly upBps: number;
      readonly downBps: number;
    }
  | { readonly type: 'log'; readonly message: string }
  | { readonly type: 'error'; readonly message: string };

export function isPeerHostLine(v: unknown): v is PeerHostLine {
  return typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string';
}
