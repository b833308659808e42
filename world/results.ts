// What a world leaves in --out: results.json (settings, every run, the summary the table shows),
// plot.svg and table.txt.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorldConfig } from './config.js';
import { configToSettings } from './config.js';
import type { RunResult } from './run-world.js';
import { summarize, formatTable, type AlgorithmSummary } from './summary.js';
import { plotRuns } from './plot-svg.js';

export interface WorldResults {
  readonly version: 1;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly interrupted: boolean;
  readonly settings: Record<string, unknown>;
  readonly summary: readonly AlgorithmSummary[];
  readonly runs: readonly RunResult[];
}

export interface WrittenResults {
  readonly results: WorldResults;
  readonly table: string;
  readonly files: { readonly json: string; readonly svg: string; readonly table: string };
}

/** NaN and Infinity become null in JSON (a run that did not complete has no time). */
function replacer(_k: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? null : v;
}

export async function writeResults(outDir: string, config: WorldConfig, runs: readonly RunResult[], startedAt: Date, interrupted: boolean): Promise<WrittenResults> {
  await mkdir(outDir, { recursive: true });
  const summary = summarize(runs, config.seed);
  const table = formatTable(summary);
  const results: WorldResults = {
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    interrupted,
    settings: configToSettings(config),
    summary,
    runs,
  };
  const files = { json: join(outDir, 'results.json'), svg: join(outDir, 'plot.svg'), table: join(outDir, 'table.txt') };
  await writeFile(files.json, JSON.stringify(results, replacer, 1) + '\n');
  await writeFile(files.svg, plotRuns(runs, `${config.alg} vs ${config.baseline}, ${config.peers} peers, seed ${config.seed}`));
  await writeFile(files.table, table + '\n');
  return { results, table, files };
}
