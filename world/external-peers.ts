// Real BitTorrent clients in the world (`--external aria2:K`): each starts from its stage's data,
// uploads under its cap, and keeps seeding once complete until the world stops (killed by PID).
import { join } from 'node:path';
import type { ProcessGroup, TrackedProcess } from './processes.js';
import { tailOf } from './processes.js';
import { freePort } from './free-port.js';
import { writeStage, type WorldContent } from './content.js';

export interface ExternalPeerSpec {
  readonly index: number;
  readonly uploadBps: number;
  readonly pieces: readonly number[];
}

export interface ExternalPeer {
  readonly name: string;
  readonly port: number;
  readonly process: TrackedProcess;
  /** The last lines it printed (for errors). */
  readonly tail: () => string;
}

export function aria2Args(torrentPath: string, dir: string, port: number, uploadBps: number): string[] {
  return [
    `--dir=${dir}`, `--listen-port=${port}`, `--max-upload-limit=${uploadBps}`,
    // Only loopback and only the world's tracker: no DHT, no local discovery, no PEX, no IPv6.
    '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--disable-ipv6=true',
    // Find the pieces it starts with, then seed for as long as the world lives.
    '--check-integrity=true', '--seed-ratio=0.0', '--bt-seed-unverified=false', '--file-allocation=none', '--allow-overwrite=true',
    '--bt-tracker-interval=5', '--bt-max-peers=0', '--summary-interval=0', '--console-log-level=warn', '--quiet=true',
    '--bt-stop-timeout=0', '--follow-torrent=false', '--auto-save-interval=0', '--save-session-interval=0',
    torrentPath,
  ];
}

export async function startAria2Peer(group: ProcessGroup, content: WorldContent, baseDir: string, spec: ExternalPeerSpec): Promise<ExternalPeer> {
  const dir = join(baseDir, `aria2-${spec.index}`);
  await writeStage(content, dir, spec.pieces);
  const port = await freePort();
  const name = `aria2 #${spec.index}`;
  const p = group.start(name, 'aria2c', aria2Args(content.torrentPath, dir, port, Math.round(spec.uploadBps)));
  return { name, port, process: p, tail: tailOf(p.child.stdout) };
}
