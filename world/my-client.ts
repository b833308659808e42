// "My client": the algorithm under test, as a real ccp-bt datapath (`download --json --ipc unix`) and a
// real agent (`connect --alg`) in two processes talking over unix datagrams in a private socket dir.
// It is measured from the datapath's start until it has every piece, then stopped.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessGroup, readLines, tailOf, type TrackedProcess } from './processes.js';
import { parseProgressLine, type ClientSample } from './progress-line.js';

export const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'ccp-bt.mjs');

export interface MyClientOptions {
  readonly group: ProcessGroup;
  readonly torrentPath: string;
  readonly totalBytes: number;
  /** Where it downloads to (fresh, empty). */
  readonly dir: string;
  /** Private socket dir for datapath ↔ agent. */
  readonly socketDir: string;
  readonly alg: string;
  readonly uploadBps: number;
  readonly timeoutMs: number;
  readonly onSample?: (s: ClientSample) => void;
  /** Lines the processes print to stderr, for --verbose. */
  readonly onLog?: (line: string) => void;
}

export interface MyClientResult {
  readonly completed: boolean;
  /** Start of the datapath until complete; NaN if it did not complete. */
  readonly timeMs: number;
  readonly downBytes: number;
  readonly upBytes: number;
  readonly samples: readonly ClientSample[];
  /** Why it did not complete. */
  readonly error?: string;
}

/** Resolves when `path` exists, or after `timeoutMs` (false). */
async function waitForFile(path: string, timeoutMs: number, alive: () => boolean): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && alive()) {
    if (existsSync(path)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return existsSync(path);
}

export function agentArgs(alg: string, socketDir: string): string[] {
  return [CLI, 'connect', '--ipc', 'unix', '--alg', alg, '--socket-dir', socketDir];
}

export function datapathArgs(o: Pick<MyClientOptions, 'torrentPath' | 'dir' | 'uploadBps' | 'socketDir'>): string[] {
  return [CLI, 'download', o.torrentPath, '-o', o.dir, '--json', '--host', '127.0.0.1', '--port', '0', '--max-up', String(o.uploadBps), '--ipc', 'unix', '--socket-dir', o.socketDir];
}

export async function runMyClient(o: MyClientOptions): Promise<MyClientResult> {
  await mkdir(o.dir, { recursive: true });
  await mkdir(o.socketDir, { recursive: true, mode: 0o700 });
  let agent: TrackedProcess | undefined;
  let datapath: TrackedProcess | undefined;
  const samples: ClientSample[] = [];
  try {
    // The agent first, so the datapath finds it on its first hello and the algorithm steers from the start.
    agent = o.group.start(`agent (${o.alg})`, process.execPath, agentArgs(o.alg, o.socketDir));
    const agentErr = tailOf(agent.child.stderr);
    readLines(agent.child.stderr, (l) => o.onLog?.(`[agent] ${l}`));
    let agentGone = false;
    void agent.exited.then(() => (agentGone = true));
    await waitForFile(join(o.socketDir, 'agent.sock'), 10_000, () => !agentGone);
    if (agentGone) return { completed: false, timeMs: NaN, downBytes: 0, upBytes: 0, samples, error: `the agent exited at start: ${agentErr() || 'no message'}` };

    const t0 = performance.now();
    datapath = o.group.start('my client', process.execPath, datapathArgs(o));
    // The plot starts at the start: nothing yet.
    samples.push({ tMs: 0, fraction: 0, downBytes: 0, upBytes: 0, downBps: 0, upBps: 0, peers: 0, complete: false });
    const dpErr = tailOf(datapath.child.stderr);
    readLines(datapath.child.stderr, (l) => o.onLog?.(`[my client] ${l}`));
    let completedAt = NaN;
    let resolveComplete!: () => void;
    const completeSeen = new Promise<void>((r) => (resolveComplete = r));
    readLines(datapath.child.stdout, (line) => {
      const s = parseProgressLine(line, performance.now() - t0, o.totalBytes, samples[samples.length - 1]);
      if (!s) return;
      samples.push(s);
      o.onSample?.(s);
      if (s.complete && Number.isNaN(completedAt)) {
        completedAt = s.tMs;
        resolveComplete();
      }
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), o.timeoutMs)));
    const outcome = await Promise.race([completeSeen.then(() => 'complete' as const), datapath.exited, timedOut]);
    clearTimeout(timer);
    if (outcome === 'complete' || outcome === 0) {
      // An exit 0 means complete even if its last line was missed; the last sample holds the byte counts.
      if (Number.isNaN(completedAt)) completedAt = performance.now() - t0;
      const last = samples[samples.length - 1];
      return { completed: true, timeMs: completedAt, downBytes: last?.downBytes ?? o.totalBytes, upBytes: last?.upBytes ?? 0, samples };
    }
    const last = samples[samples.length - 1];
    const error = outcome === 'timeout' ? `did not complete within ${Math.round(o.timeoutMs / 1000)} s` : `my client exited (${String(outcome)}) before completing: ${dpErr() || 'no message'}`;
    return { completed: false, timeMs: NaN, downBytes: last?.downBytes ?? 0, upBytes: last?.upBytes ?? 0, samples, error };
  } finally {
    if (datapath) await o.group.stop(datapath);
    if (agent) await o.group.stop(agent);
  }
}
