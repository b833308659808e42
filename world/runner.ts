// The comparison: for each trial, the algorithm then the baseline (A B A B…), each in a fresh world
// built from that trial's seed, so both meet the same peers, caps, stages and content.
import { join } from 'node:path';
import type { WorldConfig } from './config.js';
import { runWorld, type RunResult, type Role } from './run-world.js';
import type { ProcessGroup } from './processes.js';
import type { LiveView } from './live-view.js';

export interface ComparisonOptions {
  readonly config: WorldConfig;
  /** A private temporary folder (each run uses a subfolder, removed after it). */
  readonly tmpDir: string;
  readonly group: ProcessGroup;
  readonly view: LiveView;
  readonly onLog?: (line: string) => void;
  /** Each finished run, as soon as it is done (so an interrupted comparison still has them). */
  readonly onResult?: (r: RunResult) => void;
  /** Checked between runs: stop early (Ctrl-C). */
  readonly stopped?: () => boolean;
}

/** The seed of trial t: the user's seed for trial 0, then the next numbers, so trials are easy to redo alone. */
export function trialSeed(seed: number, trial: number): number {
  return (seed + trial) >>> 0;
}

export async function runComparison(o: ComparisonOptions): Promise<RunResult[]> {
  const c = o.config;
  const results: RunResult[] = [];
  const order: [string, Role][] = [
    [c.alg, 'alg'],
    [c.baseline, 'baseline'],
  ];
  for (let trial = 0; trial < c.trials; trial++) {
    for (const [alg, role] of order) {
      if (o.stopped?.()) return results;
      o.view.runStarted({ trial, trials: c.trials, alg, role });
      const r = await runWorld({
        config: c, alg, role, trial, seed: trialSeed(c.seed, trial), dir: join(o.tmpDir, `t${trial}-${role}`),
        group: o.group, onUpdate: (u) => o.view.update(u), onLog: o.onLog,
      });
      // A run cut short by Ctrl-C measured nothing: leave it out.
      if (o.stopped?.()) return results;
      results.push(r);
      o.onResult?.(r);
      o.view.runDone(r);
    }
  }
  return results;
}
