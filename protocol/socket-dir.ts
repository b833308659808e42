// Where sockets live: a per-user directory (0700), socket files (0600), stale files (nobody bound
// behind them) removed, and our own files unlinked on close and at process exit.
import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DgramSocket, ECONNREFUSED, ENOENT } from './unix-dgram-socket.js';

export const AGENT_SOCKET_NAME = 'agent.sock';
const OUR_SOCKET = /^(agent|dp-.+)\.sock$/;

const uid = (): number | undefined => (typeof process.getuid === 'function' ? process.getuid() : undefined);

/** `${XDG_RUNTIME_DIR or the temp dir}/ccp-bt-${uid}`. */
export function defaultSocketDir(): string {
  const base = process.env['XDG_RUNTIME_DIR'] || tmpdir();
  return join(base, `ccp-bt-${uid() ?? 'user'}`);
}

/**
 * Makes sure `dir` exists as a directory. A directory we create gets mode 0700; the default directory
 * must belong to us and is tightened to 0700 if it is looser. A directory the user named and that
 * exists already is used as it is.
 */
export function ensureSocketDir(dir: string): void {
  let created: string | undefined;
  try {
    created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(`cannot create socket directory ${dir}: ${(err as Error).message}`);
  }
  const st = statSync(dir);
  if (!st.isDirectory()) throw new Error(`socket directory ${dir} is not a directory`);
  if (created !== undefined) {
    chmodSync(dir, 0o700);
    return;
  }
  if (dir === defaultSocketDir()) {
    const me = uid();
    if (me !== undefined && st.uid !== me) {
      throw new Error(`socket directory ${dir} belongs to uid ${st.uid}, not to this user (${me}): refusing to use it`);
    }
    if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  }
}

export type SocketLiveness = 'alive' | 'stale' | 'absent';

/** Is something bound behind this socket file? (A dead process leaves its file; connecting is refused.) */
export function probeSocket(path: string): SocketLiveness {
  const probe = new DgramSocket();
  try {
    const r = probe.connect(path);
    if (r === 0) return 'alive';
    if (r === ECONNREFUSED) return 'stale';
    if (r === ENOENT) return 'absent';
    return 'alive'; // EPERM (it is connected to someone else), EACCES, …: leave it be
  } finally {
    probe.close();
  }
}

/** Removes `path` if it is a socket file nobody answers on. Returns what it found. */
export function removeIfStale(path: string): SocketLiveness {
  let isSocket = false;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return 'absent';
  }
  if (!isSocket) return 'alive'; // not ours to delete
  const state = probeSocket(path);
  if (state === 'stale') unlinkQuietly(path);
  return state;
}

/** Removes stale agent/datapath sockets of ccp-bt in `dir`. Returns the paths removed. */
export function cleanStaleSockets(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!OUR_SOCKET.test(name)) continue;
    const path = join(dir, name);
    if (removeIfStale(path) === 'stale') removed.push(path);
  }
  return removed;
}

export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

// Socket files to remove when the process exits (normally they go on close()).
const ownedFiles = new Set<string>();
let exitHookInstalled = false;

export function ownSocketFile(path: string): void {
  ownedFiles.add(path);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const p of ownedFiles) unlinkQuietly(p);
    });
  }
}

export function releaseSocketFile(path: string): void {
  if (ownedFiles.delete(path)) unlinkQuietly(path);
}
