// A bounded pool of open file handles shared by many torrents: least recently used idle handles are
// closed when the pool is full, so tens of thousands of torrents never exhaust file descriptors.
import { constants } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LoopIoPolicy, READ_LIMITS, WRITE_LIMITS, type IoMode } from './loop-io-policy.js';

export type FileMode = 'read' | 'write';

interface Entry {
  readonly path: string;
  readonly mode: FileMode;
  /** When it was last leased (a count of leases): the smallest idle one is closed first. */
  lastUse: number;
  opening: Promise<FileHandle>;
  /** Set once `opening` resolved, so a lease can be taken without waiting (leaseOpen). */
  handle: FileHandle | null;
  users: number; // leases not yet released; a leased handle is never closed under its user
  closeWhenIdle: boolean;
}

export interface FileLease {
  readonly handle: FileHandle;
  release(): void;
}

export class FilePool {
  /**
   * Open (or opening) handles by path, one Map per mode. A `mode\0path` key built for every piece write
   * (a new string to hash) and the delete/re-insert that kept one Map in LRU order were a visible share
   * of a leecher's profile: recency is a counter instead.
   */
  private readonly entries: Record<FileMode, Map<string, Entry>> = { read: new Map(), write: new Map() };
  private uses = 0;
  private closed = false;
  /** Whether piece writes may run on the loop; shared, as the torrents of one pool share a disk. */
  readonly writes: LoopIoPolicy;
  /** Whether piece reads may run on the loop (likewise shared). */
  readonly reads: LoopIoPolicy;

  constructor(readonly maxOpen = 128, ioMode: IoMode = 'adaptive') {
    if (!Number.isInteger(maxOpen) || maxOpen < 1) throw new RangeError(`maxOpen must be a positive integer, got ${maxOpen}`);
    this.writes = new LoopIoPolicy(WRITE_LIMITS, ioMode);
    this.reads = new LoopIoPolicy(READ_LIMITS, ioMode);
  }

  get openCount(): number {
    return this.entries.read.size + this.entries.write.size;
  }

  /**
   * Leases a handle for `path` (absolute). 'read' opens read-only and fails with ENOENT for a missing file;
   * 'write' opens read-write, creating the file (never truncating it) and its folders if needed.
   * Call release() when the I/O is done.
   */
  async acquire(path: string, mode: FileMode): Promise<FileLease> {
    if (this.closed) throw new Error('file pool is closed');
    const byPath = this.entries[mode];
    let entry = byPath.get(path);
    if (entry) {
      entry.lastUse = ++this.uses;
    } else {
      entry = { path, mode, lastUse: ++this.uses, opening: openFile(path, mode), handle: null, users: 0, closeWhenIdle: false };
      byPath.set(path, entry);
      const created = entry;
      created.opening.then(
        (h) => {
          created.handle = h;
        },
        () => {
          // A failed open must not stay cached: the next attempt retries (the file may appear later).
          if (byPath.get(path) === created) byPath.delete(path);
        },
      );
    }
    entry.users++;
    this.evictIdle();
    let handle: FileHandle;
    try {
      handle = await entry.opening;
    } catch (err) {
      entry.users--;
      throw err;
    }
    return this.lease(entry, handle);
  }

  /**
   * A lease on `path`'s handle if it is open already, else null (then use acquire). For I/O that must
   * happen now, such as writing from a buffer its owner reuses once the caller returns.
   */
  leaseOpen(path: string, mode: FileMode): FileLease | null {
    if (this.closed) return null;
    const entry = this.entries[mode].get(path);
    if (!entry || entry.handle === null || entry.closeWhenIdle) return null;
    entry.lastUse = ++this.uses;
    entry.users++;
    return this.lease(entry, entry.handle);
  }

  private lease(leased: Entry, handle: FileHandle): FileLease {
    return new Lease(this.released, leased, handle);
  }

  /** A lease ended (one function for every Lease, not a closure per lease). */
  private readonly released = (entry: Entry): void => {
    entry.users--;
    if (entry.users === 0 && entry.closeWhenIdle) void this.closeEntry(entry);
    else if (entry.users === 0) this.evictIdle();
  };

  /** Closes idle handles of `path` (both modes) now and the busy ones when released. */
  async forget(path: string): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const byPath of [this.entries.read, this.entries.write]) {
      const entry = byPath.get(path);
      if (!entry) continue;
      byPath.delete(path);
      if (entry.users === 0) jobs.push(this.closeEntry(entry));
      else entry.closeWhenIdle = true;
    }
    await Promise.all(jobs);
  }

  /** Closes every handle; leased ones are closed as their users release them. */
  async close(): Promise<void> {
    this.closed = true;
    const jobs: Promise<void>[] = [];
    for (const byPath of [this.entries.read, this.entries.write]) {
      for (const entry of byPath.values()) {
        if (entry.users === 0) jobs.push(this.closeEntry(entry));
        else entry.closeWhenIdle = true;
      }
      byPath.clear();
    }
    await Promise.all(jobs);
  }

  /** Closes the least recently used idle handles while the pool holds more than maxOpen. */
  private evictIdle(): void {
    while (this.openCount > this.maxOpen) {
      let oldest: Entry | null = null;
      for (const byPath of [this.entries.read, this.entries.write]) {
        for (const entry of byPath.values()) if (entry.users === 0 && (oldest === null || entry.lastUse < oldest.lastUse)) oldest = entry;
      }
      if (oldest === null) return; // all busy: closed as they are released
      this.entries[oldest.mode].delete(oldest.path);
      void this.closeEntry(oldest);
    }
  }

  private async closeEntry(entry: Entry): Promise<void> {
    const byPath = this.entries[entry.mode];
    if (byPath.get(entry.path) === entry) byPath.delete(entry.path);
    try {
      const h = await entry.opening;
      await h.close();
    } catch {
      // Open failed or already closed: nothing to release.
    }
  }
}

class Lease implements FileLease {
  private done = false;

  constructor(
    private readonly onRelease: (entry: Entry) => void,
    private readonly entry: Entry,
    readonly handle: FileHandle,
  ) {}

  release(): void {
    if (this.done) return;
    this.done = true;
    this.onRelease(this.entry);
  }
}

async function openFile(path: string, mode: FileMode): Promise<FileHandle> {
  if (mode === 'read') return open(path, constants.O_RDONLY);
  const flags = constants.O_RDWR | constants.O_CREAT;
  try {
    return await open(path, flags, 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dirname(path), { recursive: true });
    return open(path, flags, 0o644);
  }
}
