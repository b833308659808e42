// Test helpers for the engine and interop tests: real processes (killed by PID), temp dirs, random
// data, torrents made with our own creator.
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createTorrent } from '../../datapath/metainfo/create.js';

export { CLI, ROOT, ccp, freePort, killAll, run, tempDir, type Proc } from '../support/processes.js';

/** Races `p` against a timer; `detail` (e.g. a process's log) is added to the timeout's message. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string, detail?: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const fail = (): Error => new Error(`${what}: timed out after ${ms} ms${detail ? `\n${detail().slice(-6000)}` : ''}`);
  try {
    return await Promise.race([p, new Promise<T>((_, rej) => (timer = setTimeout(() => rej(fail()), ms)))]);
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
