// "My client": the algorithm under test, as a real ccp-bt datapath (`download --json --ipc unix`) and a
// real agent (`connect --alg`) in two processes talking over unix datagrams in a private socket dir.
// It is measured from the datapath's start (its 'started' line: listening, torrent added) until it has
// every piece, then stopped. Process start-up is left out: it measures the machine, not the algorithm.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { packagePath } from '../util/package-root.js';
import { ProcessGroup, readLines, tailOf, type TrackedProcess } from './processes.js';
import { parseProgressLine, type ClientSample } from './progress-line.js';

export const CLI = packagePath('bin', 'ccp-bt.cjs');

export interface MyAgentOptions {
  readonly group: ProcessGroup;
  /** Private socket dir for datapath ↔ agent. */
  readonly socketDir: string;
  readonly alg: string;
  /** `key=value` parameters for the algorithm. */
  readonly sets?: readonly string[];
  readonly onLog?: (line: string) => void;
}

export interface MyClientOptions {
  readonly group: ProcessGroup;
  readonly torrentPath: string;
  readonly totalBytes: number;
  /** Where it downloads to (fresh, empty). */
  readonly dir: string;
  readonly socketDir: string;
  readonly uploadBps: number;
  readonly timeoutMs: number;
  /** Resolves (with a reason) when the run must end early: the world broke down. */
  readonly abort?: Promise<string>;
  readonly onSample?: (s: ClientSample) => void;
  readonly onLog?: (line: string) => void;
}

export interface MyClientResult {
  readonly completed: boolean;
  /** From the datapath's start until complete; NaN if it did not complete. */
  readonly timeMs: number;
  /** From spawning the datapath process until its start (not counted in timeMs). */
  readonly startupMs: number;
  readonly downBytes: number;
  readonly upBytes: number;
  /** Times relative to the datapath's start. */
  readonly samples: readonly ClientSample[];
  /** Why it did not complete. */
  readonly error?: string;
}

export interface MyAgent {
  readonly process: TrackedProcess;
  stop(): Promise<void>;
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

export function agentArgs(alg: string, socketDir: string, sets: readonly string[] = []): string[] {
  return [CLI, 'connect', '--ipc', 'unix', '--alg', alg, '--socket-dir', socketDir, ...sets.flatMap((s) => ['--set', s])];
}

export function datapathArgs(o: Pick<MyClientOptions, 'torrentPath' | 'dir' | 'uploadBps' | 'socketDir'>): string[] {
  return [CLI, 'download', o.torrentPath, '-o', o.dir, '--json', '--host', '127.0.0.1', '--port', '0', '--max-up', String(o.uploadBps), '--ipc', 'unix', '--socket-dir', o.socketDir];
}

/** Starts the agent and resolves once its socket exists, so the datapath's first hello finds it. */
export async function startMyAgent(o: MyAgentOptions): Promise<MyAgent> {
  await mkdir(o.socketDir, { recursive: true, mode: 0o700 });
  const p = o.group.start(`agent (${o.alg})`, process.execPath, agentArgs(o.alg, o.socketDir, o.sets));
  const err = tailOf(p.child.stderr);
  readLines(p.child.stderr, (l) => o.onLog?.(`[agent] ${l}`));
  let gone = false;
  void p.exited.then(() => (gone = true));
  await waitForFile(join(o.socketDir, 'agent.sock'), 20_000, () => !gone);
  if (gone) throw new Error(`the agent (${o.alg}) exited at start: ${err() || 'no message'}`);
  return { process: p, stop: () => o.group.stop(p) };
}

export async function runMyClient(o: MyClientOptions): Promise<MyClientResult> {
  await mkdir(o.dir, { recursive: true });
  let datapath: TrackedProcess | undefined;
  const samples: ClientSample[] = [];
  const spawnedAt = performance.now();
  let t0 = NaN; // the 'started' line
  const sinceStart = (): number => performance.now() - (Number.isNaN(t0) ? spawnedAt : t0);
  try {
    datapath = o.group.start('my client', process.execPath, datapathArgs(o));
    const dpErr = tailOf(datapath.child.stderr);
    readLines(datapath.child.stderr, (l) => o.onLog?.(`[my client] ${l}`));
    let completedAt = NaN;
    let resolveComplete!: () => void;
    const completeSeen = new Promise<void>((r) => (resolveComplete = r));
    readLines(datapath.child.stdout, (line) => {
      if (Number.isNaN(t0) && /"event"\s*:\s*"started"/.test(line)) {
        t0 = performance.now();
        // The plot starts at the start: nothing yet.
        samples.push({ tMs: 0, fraction: 0, downBytes: 0, upBytes: 0, downBps: 0, upBps: 0, peers: 0, complete: false });
        return;
      }
      const s = parseProgressLine(line, sinceStart(), o.totalBytes, samples[samples.length - 1]);
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
    const aborted = (o.abort ?? new Promise<never>(() => {})).then((why) => ({ aborted: why }));
    const outcome = await Promise.race([completeSeen.then(() => 'complete' as const), datapath.exited, timedOut, aborted]);
    clearTimeout(timer);
    const startupMs = (Number.isNaN(t0) ? performance.now() : t0) - spawnedAt;
    const last = samples[samples.length - 1];
    if (outcome === 'complete' || outcome === 0) {
      // An exit 0 means complete even if its last line was missed; the last sample holds the byte counts.
      if (Number.isNaN(completedAt)) completedAt = sinceStart();
      return { completed: true, timeMs: completedAt, startupMs, downBytes: last?.downBytes ?? o.totalBytes, upBytes: last?.upBytes ?? 0, samples };
    }
    const error =
      outcome === 'timeout' ? `did not complete within ${Math.round(o.timeoutMs / 1000)} s`
      : typeof outcome === 'object' ? `stopped before completing: ${outcome.aborted}`
      : `my client exited (${String(outcome)}) before completing: ${dpErr() || 'no message'}`;
    return { completed: false, timeMs: NaN, startupMs, downBytes: last?.downBytes ?? 0, upBytes: last?.upBytes ?? 0, samples, error };
  } finally {
    if (datapath) await o.group.stop(datapath);
  }
}
