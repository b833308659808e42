// One run: a fresh world from the trial's seed (tracker, content, world peers, external peers), my
// client with one algorithm in it until complete, then everything stopped and its files removed.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startTracker, type TrackerServer } from '../tracker/server.js';
import type { WorldConfig } from './config.js';
import { formatDistribution } from './distribution.js';
import { makeContent } from './content.js';
import { planWorld } from './world-plan.js';
import { startWorldPeers, type PeerHostStatus, type WorldPeers } from './world-peers.js';
import { startAria2Peer, type ExternalPeer } from './external-peers.js';
import { runMyClient, startMyAgent, type MyAgent } from './my-client.js';
import type { ProcessGroup } from './processes.js';
import type { ClientSample } from './progress-line.js';

export type Role = 'alg' | 'baseline';

export interface RunSpec {
  readonly config: WorldConfig;
  readonly alg: string;
  readonly role: Role;
  readonly trial: number;
  readonly seed: number;
  /** A private temporary folder for this run (removed at the end). */
  readonly dir: string;
  readonly group: ProcessGroup;
  readonly onUpdate?: (u: RunUpdate) => void;
  readonly onLog?: (line: string) => void;
}

export interface RunUpdate {
  readonly phase: 'starting' | 'running';
  readonly sample?: ClientSample;
  readonly world?: PeerHostStatus;
  readonly externalPeers: number;
}

export interface RunResult {
  readonly alg: string;
  readonly role: Role;
  readonly trial: number;
  readonly seed: number;
  readonly completed: boolean;
  /** From my client's start (listening, torrent added) until complete; NaN if it did not complete. */
  readonly timeMs: number;
  /** Its process start-up before that (not counted). */
  readonly startupMs: number;
  readonly downBytes: number;
  readonly upBytes: number;
  /** Uploaded / downloaded (0 when nothing was downloaded). */
  readonly ratio: number;
  readonly samples: readonly ClientSample[];
  readonly error?: string;
  /** The world when my client finished: our peers' last status (completions and rebirths so far), external peers. */
  readonly world?: { readonly ours: PeerHostStatus | undefined; readonly externalPeers: number };
}

export async function runWorld(spec: RunSpec): Promise<RunResult> {
  const { config: c, group } = spec;
  await mkdir(spec.dir, { recursive: true });
  let tracker: TrackerServer | undefined;
  let peers: WorldPeers | undefined;
  const externals: ExternalPeer[] = [];
  let agent: MyAgent | undefined;
  let agentP: Promise<MyAgent> | undefined;
  const worldSummary = (): RunResult['world'] => ({ ours: peers?.status(), externalPeers: externals.length });
  let current: Omit<RunUpdate, 'externalPeers' | 'world'> = { phase: 'starting' };
  const update = (u: Omit<RunUpdate, 'externalPeers' | 'world'>): void => {
    current = u;
    spec.onUpdate?.({ ...u, world: peers?.status(), externalPeers: externals.length });
  };
  // The live view also moves between my client's progress lines (world status, elapsed time).
  const ticker = setInterval(() => update(current), 500);
  const t0 = performance.now();
  const phase = (what: string): void => spec.onLog?.(`[run] ${what} at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  try {
    update({ phase: 'starting' });
    // My agent starts while the world is built: it needs nothing from it.
    agentP = startMyAgent({ group, socketDir: join(spec.dir, 'sock'), alg: spec.alg, sets: spec.role === 'alg' ? c.set : c.baselineSet, onLog: spec.onLog });
    agentP.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile
    // A short interval so reborn peers and my client are found quickly.
    tracker = await startTracker({ host: '127.0.0.1', httpPort: 0, udpPort: 0, intervalS: 5 });
    const content = await makeContent(join(spec.dir, 'content'), spec.seed, c.sizeBytes, c.pieceLength, [tracker.httpUrl]);
    const plan = planWorld(c, content.meta.pieceCount, spec.seed);
    if (plan.ours.length > 0) {
      const workDir = join(spec.dir, 'peers');
      await mkdir(workDir, { recursive: true });
      peers = await startWorldPeers(
        group,
        {
          torrentPath: content.torrentPath, dataPath: content.dataPath, workDir, seed: spec.seed,
          stages: formatDistribution(c.stages), rebirthPauseS: c.rebirthPauseS, worldAlg: c.worldAlg, worldSet: c.worldSet,
          peers: plan.ours.map((p) => ({ index: p.index, uploadBps: p.uploadBps, pieces: p.pieces, peerIdHex: p.peerIdHex })),
        },
        { onLog: spec.onLog },
      );
    }
    phase('world peers ready');
    for (const p of plan.external) externals.push(await startAria2Peer(group, content, join(spec.dir, 'external'), p));
    if (c.warmupS > 0) await new Promise((r) => setTimeout(r, c.warmupS * 1000));
    agent = await agentP;
    phase('agent ready');
    update({ phase: 'running' });
    const me = await runMyClient({
      group,
      torrentPath: content.torrentPath,
      totalBytes: content.meta.totalBytes,
      dir: join(spec.dir, 'me'),
      socketDir: join(spec.dir, 'sock'),
      uploadBps: c.myUploadBps,
      timeoutMs: c.timeoutS * 1000,
      // If the world's peers die mid-run, my client could only wait for the timeout: end the run now.
      abort: peers?.process.exited.then((code) => `the world's peers exited (${String(code)})`),
      onSample: (sample) => update({ phase: 'running', sample }),
      onLog: spec.onLog,
    });
    phase(`my client done (start-up ${(me.startupMs / 1000).toFixed(1)} s)`);
    return {
      alg: spec.alg, role: spec.role, trial: spec.trial, seed: spec.seed, completed: me.completed, timeMs: me.timeMs,
      startupMs: me.startupMs, downBytes: me.downBytes, upBytes: me.upBytes, ratio: me.downBytes > 0 ? me.upBytes / me.downBytes : 0,
      samples: me.samples, error: me.error, world: worldSummary(),
    };
  } finally {
    clearInterval(ticker);
    if (agent) await agent.stop();
    else await agentP?.then((a) => a.stop()).catch(() => {});
    await Promise.allSettled([...externals.map((e) => group.stop(e.process)), peers ? group.stop(peers.process) : undefined]);
    await tracker?.close().catch(() => {});
    await rm(spec.dir, { recursive: true, force: true }).catch(() => {});
    phase('stopped');
  }
}
