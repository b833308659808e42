// Every process a world starts goes through here, so a stop (the end, an error, Ctrl-C) can kill each
// of them by PID and wait until it is gone.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { packagePath } from '../util/package-root.js';

const GUARD = packagePath('world', 'guard.mjs');

export interface TrackedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  readonly exited: Promise<number | string>;
}

export class ProcessGroup {
  private readonly live = new Map<number, TrackedProcess>();
  private closed = false;
  /** The watchdog (world/guard.mjs) that kills our processes if this one dies without stopping them. */
  private guard: ChildProcess | undefined;

  /** @param guarded start the watchdog with the first process (off in unit tests of this class). */
  constructor(private readonly guarded = true) {}

  private tellGuard(line: string): void {
    if (!this.guarded) return;
    if (!this.guard) {
      this.guard = spawn(process.execPath, [GUARD], { stdio: ['pipe', 'ignore', 'ignore'] });
      this.guard.on('error', () => {});
      this.guard.stdin!.on('error', () => {}); // the guard gone: nothing more to tell it
    }
    if (this.guard.stdin?.writable) this.guard.stdin.write(line + '\n');
  }

  /** Spawns and tracks a process; throws if the group is already stopping or the spawn fails. */
  start(name: string, command: string, args: readonly string[], opts: SpawnOptions = {}): TrackedProcess {
    if (this.closed) throw new Error(`not starting ${name}: the world is stopping`);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    if (child.pid === undefined) {
      // spawn reports ENOENT asynchronously; surface it here as a clear error.
      child.on('error', () => {});
      throw new Error(`could not start ${name} (${command}): not found or not executable`);
    }
    const pid = child.pid;
    this.tellGuard(`+${pid}`);
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => {
        this.live.delete(pid);
        this.tellGuard(`-${pid}`);
        resolve(code ?? signal ?? 'unknown');
      });
      child.once('error', () => {
        this.live.delete(pid);
        this.tellGuard(`-${pid}`);
        resolve('error');
      });
    });
    const p: TrackedProcess = { name, child, pid, exited };
    this.live.set(pid, p);
    return p;
  }

  /** A folder the watchdog removes if this process dies without cleaning up. */
  guardFolder(path: string): void {
    this.tellGuard(`=${path}`);
  }

  pids(): number[] {
    return [...this.live.keys()];
  }

  /** SIGTERM by PID, then SIGKILL after `graceMs` for any that linger; resolves when all are gone. */
  async stop(p: TrackedProcess, graceMs = 3000): Promise<void> {
    if (!this.live.has(p.pid)) return;
    signal(p.pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        signal(p.pid, 'SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([p.exited, killed]);
    clearTimeout(timer);
    await p.exited;
  }

  /** Stops every live process (in parallel) and refuses new ones. */
  async stopAll(graceMs = 3000): Promise<void> {
    this.closed = true;
    await Promise.all([...this.live.values()].map((p) => this.stop(p, graceMs)));
    // Nothing left to guard: close its pipe and wait (briefly) for it to go.
    const g = this.guard;
    if (g && g.exitCode === null && g.signalCode === null) {
      const gone = new Promise<void>((r) => g.once('exit', () => r()));
      g.stdin?.end();
      await Promise.race([gone, new Promise((r) => setTimeout(r, 1000))]);
    }
  }

  /** Last resort on process exit: SIGKILL whatever is left, synchronously. */
  killAllNow(): void {
    for (const pid of this.live.keys()) signal(pid, 'SIGKILL');
    if (this.guard?.pid) signal(this.guard.pid, 'SIGKILL');
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Calls `onLine` for each complete line a stream produces (for JSON-lines protocols). */
export function readLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) onLine(line);
    }
    // A runaway line without newlines must not grow without bound.
    if (buf.length > 1 << 20) buf = '';
  });
}

/** Keeps the last `max` lines of a stream, for error messages when a process fails. */
export function tailOf(stream: NodeJS.ReadableStream | null, max = 20): () => string {
  const lines: string[] = [];
  readLines(stream, (l) => {
    lines.push(l);
    if (lines.length > max) lines.shift();
  });
  return () => lines.join('\n');
}
