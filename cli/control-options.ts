// Placeholder: the control plane replaces this with the real options (--ipc, --alg, --set, --socket-dir)
// and the code that attaches an agent (over unix datagrams, or in-process) to a datapath's flows.
import type { Command } from 'commander';
import type { FlowSource } from '../datapath/flow/flow-api.js';

export interface ControlOptions {
  ipc?: string;
  alg?: string;
  set?: string[];
  socketDir?: string;
}

/** Adds --ipc/--alg/--set/--socket-dir to a datapath command (download, seed, shape). */
export function addControlOptions(cmd: Command): Command {
  return cmd;
}

/** Attaches the control plane to `source` as the options ask; resolves to a function that detaches it. */
export async function startControl(_source: FlowSource, _opts: ControlOptions, _name: string): Promise<() => Promise<void>> {
  return async () => {};
}
