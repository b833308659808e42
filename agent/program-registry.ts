// The programs one datapath knows, deduplicated by source: flows running the same text share one
// InstallProgram and one program id.

export type ProgramState = 'pending' | 'installed' | 'failed';

export interface ProgramEntry {
  readonly id: number;
  readonly source: string;
  readonly name: string;
  state: ProgramState;
  /** Report variable names, once installed. */
  reportVars: readonly string[];
  /** Why it failed (CompileFailed message). */
  failure: string | null;
}

export class ProgramRegistry {
  private readonly bySource = new Map<string, ProgramEntry>();
  private readonly byId = new Map<number, ProgramEntry>();
  private nextId = 1;

  /** The entry for `source`; `created` says whether it must still be sent to the datapath. */
  obtain(source: string, name: string): { entry: ProgramEntry; created: boolean } {
    const found = this.bySource.get(source);
    if (found) return { entry: found, created: false };
    // Program 0 means "none" on the wire; ids stay in 1..2^32-1.
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    const entry: ProgramEntry = { id, source, name, state: 'pending', reportVars: [], failure: null };
    this.bySource.set(source, entry);
    this.byId.set(id, entry);
    return { entry, created: true };
  }

  get(id: number): ProgramEntry | undefined {
    return this.byId.get(id);
  }

  /** Compiling is deterministic: a failed source stays failed for this datapath (no resend, same error). */
  markFailed(entry: ProgramEntry, message: string): void {
    entry.state = 'failed';
    entry.failure = message;
  }

  clear(): void {
    this.bySource.clear();
    this.byId.clear();
  }
}
