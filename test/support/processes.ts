// Real processes for tests and benchmarks: spawned, tracked, and killed by PID; plus temp folders and
// free loopback ports. Shared by the engine, interop and shaping-proxy tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'bin', 'ccp-bt.cjs');

export interface Proc {
  readonly child: ChildProcess;
  out(): string;
  err(): string;
  readonly exited: Promise<number | null>;
}

const live = new Set<ChildProcess>();
const KEEP_CHARS = 200_000; // a long-running client's output is kept to its tail

export function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Proc {
  const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-KEEP_CHARS)));
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-KEEP_CHARS)));
  child.on('error', (e) => (err += `\nspawn failed: ${e.message}`));
  const exited = new Promise<number | null>((res) =>
    child.on('exit', (code) => {
      live.delete(child);
      res(code);
    }),
  );
  return { child, out: () => out, err: () => err, exited };
}

/** `ccp-bt ARGS` as a real process. */
export function ccp(args: string[]): Proc {
  return run(process.execPath, [CLI, ...args]);
}

/** Kills every process started here that still runs (by PID), waiting up to 3 s for them to go. */
export async function killAll(): Promise<void> {
  const waits: Promise<void>[] = [];
  for (const c of live) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      waits.push(new Promise((res) => c.once('exit', () => res())));
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  await Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, 3000))]);
  live.clear();
}

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `ccpbt-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => res(port));
    });
  });
}
