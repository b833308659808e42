// The parent's side of the world's own peers: starts the host process with a plan, waits until every
// peer listens, and keeps the latest status line for the live view.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packagePath } from '../util/package-root.js';
import type { ProcessGroup, TrackedProcess } from './processes.js';
import { readLines, tailOf } from './processes.js';
import { isPeerHostLine, type PeerHostLine, type PeerHostPlan } from './peer-host-plan.js';

const LAUNCHER = packagePath('world', 'peer-host-launch.cjs');

export type PeerHostStatus = Extract<PeerHostLine, { type: 'status' }>;

export interface WorldPeers {
  readonly ports: readonly number[];
  readonly process: TrackedProcess;
  /** The latest status (undefined before the first). */
  status(): PeerHostStatus | undefined;
}

export async function startWorldPeers(group: ProcessGroup, plan: PeerHostPlan, opts: { timeoutMs?: number; onLog?: (msg: string) => void } = {}): Promise<WorldPeers> {
  const planPath = join(plan.workDir, 'peer-host-plan.json');
  await writeFile(planPath, JSON.stringify(plan));
  // stdin is a pipe the host watches: if this process dies, the host sees EOF and exits too.
  const p = group.start('world peers', process.execPath, [LAUNCHER, planPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  const errTail = tailOf(p.child.stderr);
  readLines(p.child.stderr, (l) => opts.onLog?.(`[world] ${l}`));
  let latest: PeerHostStatus | undefined;
  let ready: ((ports: readonly number[]) => void) | undefined;
  let failed: ((err: Error) => void) | undefined;
  const readyP = new Promise<readonly number[]>((res, rej) => {
    ready = res;
    failed = rej;
  });
  readLines(p.child.stdout, (line) => {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      opts.onLog?.(`[world] ${line}`);
      return;
    }
    if (!isPeerHostLine(msg)) return;
    if (msg.type === 'ready') ready?.(msg.ports);
    else if (msg.type === 'status') latest = msg;
    else if (msg.type === 'error') failed?.(new Error(`world peers failed: ${msg.message}`));
    else opts.onLog?.(`[world] ${msg.message}`);
  });
  void p.exited.then((code) => failed?.(new Error(`world peers exited (${String(code)}) before they were ready: ${errTail() || 'no message'}`)));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`world peers not ready within ${Math.round((opts.timeoutMs ?? 60_000) / 1000)} s`)), opts.timeoutMs ?? 60_000);
  });
  try {
    const ports = await Promise.race([readyP, timeout]);
    return { ports, process: p, status: () => latest };
  } finally {
    clearTimeout(timer);
  }
}
