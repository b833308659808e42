// The world's own peers, all in this one process (one event loop for many sessions spares a 2-core
// machine). Started by world-peers.ts with a plan file; prints JSON lines (peer-host-plan.ts) on stdout.
// A leecher that completes seeds for a pause, then is reborn: data deleted, fresh stage, new peer id.
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMetainfo } from '../datapath/metainfo/metainfo.js';
import type { PeerHostLine, PeerHostPlan, PeerHostPeer } from './peer-host-plan.js';
import { parseDistribution, parseFraction, sampleDistribution } from './distribution.js';
import { rngFor } from './random.js';
import { stagePieces, writeStage, type WorldContent } from './content.js';
import { startWorldPeer, type WorldPeer } from './world-peer.js';

function emit(line: PeerHostLine): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

interface Slot {
  readonly spec: PeerHostPeer;
  generation: number;
  peer: WorldPeer | undefined;
  timer: NodeJS.Timeout | undefined;
}

async function main(): Promise<void> {
  const planPath = process.argv[2];
  if (!planPath) throw new Error('usage: peer-host PLAN.json');
  const plan = JSON.parse(readFileSync(planPath, 'utf8')) as PeerHostPlan;
  const torrent = readFileSync(plan.torrentPath);
  const content: WorldContent = { dataPath: plan.dataPath, torrentPath: plan.torrentPath, torrent, meta: parseMetainfo(torrent) };
  const stages = parseDistribution(plan.stages, { what: 'stages', parse: parseFraction, min: 0, max: 1, maxExclusive: true });
  let stopping = false;
  let completions = 0;
  let rebirths = 0;
  const slots: Slot[] = plan.peers.map((spec) => ({ spec, generation: 0, peer: undefined, timer: undefined }));

  const dirOf = (s: Slot): string => join(plan.workDir, `peer-${s.spec.index}-${s.generation}`);

  async function launch(s: Slot, pieces: readonly number[], peerId: Buffer): Promise<void> {
    const dir = dirOf(s);
    await writeStage(content, dir, pieces);
    if (stopping) return;
    const peer = await startWorldPeer({ index: s.spec.index, name: `world-${s.spec.index}.${s.generation}`, content, dir, uploadBps: s.spec.uploadBps, peerId, worldAlg: plan.worldAlg, worldSet: plan.worldSet });
    if (stopping) {
      await peer.close();
      return;
    }
    s.peer = peer;
    peer.onComplete(() => {
      if (stopping || pieces.length === content.meta.pieceCount) return; // seeds stay seeds
      completions++;
      s.timer = setTimeout(() => void rebirth(s), plan.rebirthPauseS * 1000);
    });
  }

  async function rebirth(s: Slot): Promise<void> {
    if (stopping) return;
    const old = s.peer;
    const oldDir = dirOf(s);
    s.peer = undefined;
    try {
      await old?.close();
      await rm(oldDir, { recursive: true, force: true });
      s.generation++;
      rebirths++;
      const rng = rngFor(plan.seed, `rebirth-${s.spec.index}-${s.generation}`);
      const stage = sampleDistribution(stages, rng);
      await launch(s, stagePieces(rng, content.meta.pieceCount, stage), rng.peerId('-CB0100-'));
    } catch (err) {
      emit({ type: 'log', message: `world peer ${s.spec.index}: rebirth failed: ${err instanceof Error ? err.message : String(err)}` });
    }
  }

  async function stop(): Promise<void> {
    if (stopping) return;
    stopping = true;
    for (const s of slots) clearTimeout(s.timer);
    // Bounded: a peer that hangs on close must not keep the world alive.
    await Promise.race([
      Promise.allSettled(slots.map((s) => s.peer?.close())),
      new Promise((r) => setTimeout(r, 3000)),
    ]);
    process.exit(0);
  }
  // One world peer's failure must not end the world: say so (seen with --verbose) and keep going.
  process.on('uncaughtException', (err) => emit({ type: 'log', message: `uncaught in a world peer: ${err.stack ?? err.message}` }));
  process.on('unhandledRejection', (err) => emit({ type: 'log', message: `unhandled rejection in a world peer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}` }));
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  // The parent holds our stdin; when it goes away (even killed), so do we.
  process.stdin.on('end', () => void stop());
  process.stdin.on('error', () => void stop());
  process.stdin.resume();

  for (const s of slots) {
    if (stopping) return;
    await launch(s, s.spec.pieces, Buffer.from(s.spec.peerIdHex, 'hex'));
  }
  emit({ type: 'ready', ports: slots.map((s) => s.peer?.port ?? 0) });

  setInterval(() => {
    let alive = 0;
    let seeding = 0;
    let upBps = 0;
    let downBps = 0;
    for (const s of slots) {
      if (!s.peer) continue;
      alive++;
      if (s.peer.complete) seeding++;
      const r = s.peer.rates();
      upBps += r.upBps;
      downBps += r.downBps;
    }
    emit({ type: 'status', alive, seeding, completions, rebirths, upBps, downBps });
  }, 1000);
}

main().catch((err: unknown) => {
  emit({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
