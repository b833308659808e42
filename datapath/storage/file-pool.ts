// A bounded pool of open file handles shared by many torrents: least recently used idle handles are
// closed when the pool is full, so tens of thousands of torrents never exhaust file descriptors.
import { constants } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LoopIoPolicy, READ_LIMITS, WRITE_LIMITS, type IoMode } from './loop-io-policy.js';

export type FileMode = 'read' | 'write';

interface Entry {
  key: string;
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
  // Map keeps insertion order: re-inserting on use makes the first entry the least recently used.
  private readonly entries = new Map<string, Entry>();
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
    return this.entries.size;
  }

  /**
   * Leases a handle for `path` (absolute). 'read' opens read-only and fails with ENOENT for a missing file;
   * 'write' opens read-write, creating the file (never truncating it) and its folders if needed.
   * Call release() when the I/O is done.
   */
  async acquire(path: string, mode: FileMode): Promise<FileLease> {
    if (this.closed) throw new Error('file pool is closed');
    const key = `${mode}\0${path}`;
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    } else {
      entry = { key, opening: openFile(path, mode), handle: null, users: 0, closeWhenIdle: false };
      this.entries.set(key, entry);
      const created = entry;
      created.opening.then(
        (h) => {
          created.handle = h;
        },
        () => {
          // A failed open must not stay cached: the next attempt retries (the file may appear later).
          if (this.entries.get(key) === created) this.entries.delete(key);
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
    const key = `${mode}\0${path}`;
    const entry = this.entries.get(key);
    if (!entry || entry.handle === null || entry.closeWhenIdle) return null;
    this.entries.delete(key);
    this.entries.set(key, entry);
    entry.users++;
    return this.lease(entry, entry.handle);
  }

  private lease(leased: Entry, handle: FileHandle): FileLease {
    let released = false;
    return {
      handle,
      release: () => {
        if (released) return;
        released = true;
        leased.users--;
        if (leased.users === 0 && leased.closeWhenIdle) void this.closeEntry(leased);
        else if (leased.users === 0) this.evictIdle();
      },
    };
  }

  /** Closes idle handles of `path` (both modes) now and the busy ones when released. */
  async forget(path: string): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const mode of ['read', 'write'] as const) {
      const entry = this.entries.get(`${mode}\0${path}`);
      if (!entry) continue;
      this.entries.delete(entry.key);
      if (entry.users === 0) jobs.push(this.closeEntry(entry));
      else entry.closeWhenIdle = true;
    }
    await Promise.all(jobs);
  }

  /** Closes every handle; leased ones are closed as their users release them. */
  async close(): Promise<void> {
    this.closed = true;
    const jobs: Promise<void>[] = [];
    for (const entry of this.entries.values()) {
      if (entry.users === 0) jobs.push(this.closeEntry(entry));
      else entry.closeWhenIdle = true;
    }
    this.entries.clear();
    await Promise.all(jobs);
  }

  private evictIdle(): void {
    if (this.entries.size <= this.maxOpen) return;
    for (const entry of this.entries.values()) {
      if (this.entries.size <= this.maxOpen) break;
      if (entry.users > 0) continue;
      this.entries.delete(entry.key);
      void this.closeEntry(entry);
    }
  }

  private async closeEntry(entry: Entry): Promise<void> {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    try {
      const h = await entry.opening;
      await h.close();
    } catch {
      // Open failed or already closed: nothing to release.
    }
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
