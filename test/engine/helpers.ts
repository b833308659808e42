// Test helpers for the engine and interop tests: real processes (killed by PID), temp dirs, random
// data, torrents made with our own creator.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import { createTorrent } from '../../datapath/metainfo/create.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'bin', 'ccp-bt.mjs');

export interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

const live = new Set<ChildProcess>();

export function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Proc {
  const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => {
    live.delete(child);
    res(code);
  }));
  return { child, out: () => out, err: () => err, exited };
}

export function ccp(args: string[]): Proc {
  return run(process.execPath, [CLI, ...args]);
}

/** Kills every process these helpers started and is still running (by PID). */
export async function killAll(): Promise<void> {
  const waits: Promise<void>[] = [];
  for (const c of live) {
    if (c.pid !== undefined && c.exitCode === null) {
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

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what}: timed out after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `cond` every 100 ms until it holds (or throws after `ms`). */
export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`${what}: not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
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

/** Writes `bytes` of random data to dir/name and a .torrent for it; returns paths. */
export async function makeTorrent(dir: string, name: string, bytes: number, trackers: string[], pieceLength = 256 * 1024): Promise<{ data: string; torrent: string }> {
  const data = join(dir, name);
  writeFileSync(data, randomBytes(bytes));
  const torrent = join(dir, `${name}.torrent`);
  writeFileSync(torrent, await createTorrent({ path: data, trackers: trackers.map((t) => [t]), pieceLength, creationDate: null }));
  return { data, torrent };
}

export const ARIA2_FLAGS = [
  '--enable-dht=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--disable-ipv6=true',
  '--seed-ratio=0.0', '--bt-tracker-interval=2', '--summary-interval=0', '--console-log-level=warn',
  '--bt-stop-timeout=0', '--check-certificate=false',
];
