// Runs `ccp-bt` subcommands as real processes for the control-plane tests: output lines with their
// arrival time, waiting for a line, killing by PID. Every process started here is killed by killAll().
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTorrent } from '../../datapath/metainfo/create.js';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'ccp-bt.cjs');

export interface Line {
  readonly atMs: number;
  readonly text: string;
  readonly stream: 'stdout' | 'stderr';
}

export class CliProcess {
  readonly child: ChildProcess;
  readonly lines: Line[] = [];
  exited = false;
  exitCode: number | null = null;
  private waiters: (() => void)[] = [];

  constructor(readonly name: string, args: string[]) {
    this.child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(this);
    for (const stream of ['stdout', 'stderr'] as const) {
      let buf = '';
      this.child[stream]!.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          this.lines.push({ atMs: performance.now(), text: buf.slice(0, nl), stream });
          buf = buf.slice(nl + 1);
        }
        this.wake();
      });
    }
    this.child.on('exit', (code) => {
      this.exited = true;
      this.exitCode = code;
      live.delete(this);
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves with the first line (from `from` on) matching `re`; rejects on timeout or exit. */
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<Line> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.slice(from).find((l) => re.test(l.text));
      if (hit) return hit;
      if (this.exited) throw new Error(`${this.name} exited (code ${this.exitCode}) before printing ${re}\n${this.tail()}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`${this.name}: no line matching ${re} within ${timeoutMs} ms\n${this.tail()}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async waitExit(timeoutMs: number): Promise<number | null> {
    const deadline = performance.now() + timeoutMs;
    while (!this.exited) {
      if (performance.now() > deadline) throw new Error(`${this.name} still running after ${timeoutMs} ms\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.exitCode;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.exited && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, signal);
      } catch {
        // already gone
      }
    }
  }

  tail(n = 15): string {
    return this.lines.slice(-n).map((l) => `  [${this.name} ${l.stream}] ${l.text}`).join('\n');
  }

  /** JSON progress lines (download/seed --json) with their arrival times and the times they were made. */
  progress(): ProgressPoint[] {
    const out: ProgressPoint[] = [];
    for (const l of this.lines) {
      if (l.stream !== 'stdout' || !l.text.startsWith('{')) continue;
      try {
        const j = JSON.parse(l.text) as { event?: string; timeMs?: number; downloadedBytes?: number; complete?: boolean };
        if (j.event === 'progress' && typeof j.downloadedBytes === 'number' && typeof j.timeMs === 'number') {
          out.push({ atMs: l.atMs, madeMs: j.timeMs, downloadedBytes: j.downloadedBytes, complete: j.complete === true });
        }
      } catch {
        // not JSON
      }
    }
    return out;
  }
}

export interface ProgressPoint {
  /** When this process read the line (performance.now). */
  atMs: number;
  /** When the datapath wrote it (its Date.now): spans use this, as a loaded machine delays reading. */
  madeMs: number;
  downloadedBytes: number;
  complete: boolean;
}

const live = new Set<CliProcess>();

export function killAll(): void {
  for (const p of live) p.kill('SIGKILL');
  live.clear();
}

export interface Fixture {
  readonly dir: string;
  readonly seedDir: string;
  readonly socketDir: string;
  readonly torrent: string;
  leechDir(n: number): string;
  remove(): void;
}

/** Random content of `bytes` in a fresh temporary folder, its .torrent, and a 0700 socket folder. */
export async function makeFixture(bytes: number, pieceLength = 256 * 1024): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'ccpbt-control-'));
  const seedDir = join(dir, 'seed');
  const socketDir = join(dir, 'sock');
  mkdirSync(seedDir);
  mkdirSync(socketDir, { mode: 0o700 });
  const content = join(seedDir, 'content.bin');
  writeFileSync(content, randomBytes(bytes));
  const torrent = join(dir, 'content.torrent');
  writeFileSync(torrent, await createTorrent({ path: content, trackers: [], pieceLength }));
  return {
    dir,
    seedDir,
    socketDir,
    torrent,
    leechDir: (n) => {
      const d = join(dir, `leech${n}`);
      mkdirSync(d, { recursive: true });
      return d;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Starts a seeder that accepts an agent over unix datagrams; resolves with it and its port. */
export async function startSeeder(f: Fixture, extra: string[] = []): Promise<{ proc: CliProcess; port: number }> {
  const proc = new CliProcess('seed', ['seed', f.torrent, '-d', f.seedDir, '--host', '127.0.0.1', '--port', '0', '--no-announce', '--json', '--ipc', 'unix', '--socket-dir', f.socketDir, ...extra]);
  const line = await proc.waitFor(/"event":"listening"/, 20_000);
  const port = (JSON.parse(line.text) as { port: number }).port;
  return { proc, port };
}

export function startLeecher(f: Fixture, n: number, port: number, extra: string[] = []): CliProcess {
  return new CliProcess(`leech${n}`, ['download', f.torrent, '-o', f.leechDir(n), '--peer', `127.0.0.1:${port}`, '--no-announce', '--host', '127.0.0.1', '--port', '0', '--json', ...extra]);
}

export function startAgent(f: Fixture, args: string[]): CliProcess {
  return new CliProcess('agent', ['connect', '--ipc', 'unix', '--socket-dir', f.socketDir, ...args]);
}

/**
 * Bytes/s a leecher received between two moments (ms, performance.now), from its progress lines (picked
 * by when they were read, timed by when they were made); a transfer that completed inside the window
 * counts up to its completion.
 */
export function rateBetween(p: CliProcess, fromMs: number, toMs: number): { bps: number; spanS: number } {
  const all = p.progress();
  const done = all.findIndex((x) => x.complete);
  const pts = (done >= 0 ? all.slice(0, done + 1) : all).filter((x) => x.atMs >= fromMs && x.atMs <= toMs);
  if (pts.length < 2) return { bps: NaN, spanS: 0 };
  const a = pts[0]!;
  const b = pts[pts.length - 1]!;
  const spanS = (b.madeMs - a.madeMs) / 1000;
  return { bps: (b.downloadedBytes - a.downloadedBytes) / spanS, spanS };
}
