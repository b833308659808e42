// A whole world as real processes: our own peers (one host process), my client as a datapath plus an
// agent over unix datagrams, both algorithms to completion; results.json holds what the table shows.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld, descendants, alive, killAll, leftovers, type CliRun } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'ccp-world-run-'));
const tmp = mkdtempSync(join(root, 'tmp-'));
const started = new Set<number>();
let run: CliRun | undefined;
afterAll(() => {
  if (run?.child.pid) killAll([...descendants(run.child.pid), run.child.pid]);
  killAll(started);
  rmSync(root, { recursive: true, force: true });
});

interface Summary {
  alg: string;
  role: string;
  runs: number;
  completed: number;
  timeS: { median: number; min: number; max: number };
  downBytes: { median: number };
  upBytes: { median: number };
  ratio: { median: number };
  vsBaseline?: { timeS: { t: { estimate: number; n: number } }; upBytes: { t: { estimate: number } } };
}

describe('ccp-bt world with our own peers', () => {
  it('runs the algorithm and the baseline to completion and writes the figures the table shows', async () => {
    const out = join(root, 'out');
    const size = 1 << 20;
    run = startWorld(['--peers', '5', '--seeds', '1', '--size', '1MiB', '--piece-length', '32KiB', '--upload', 'uniform:150k-300k', '--stages', 'choice:0,0.3,0.6', '--my-upload', '100k', '--alg', 'aimd', '--baseline', 'tft', '--trials', '1', '--seed', '3', '--warmup', '0.5', '--timeout', '60', '--out', out], tmp);
    // Note what it starts while it runs, to check afterwards that all of it is gone.
    const watch = setInterval(() => run?.child.pid && descendants(run.child.pid).forEach((p) => started.add(p)), 200);
    const { code } = await run.done;
    clearInterval(watch);
    expect(run.stderr).toBe('');
    expect(code).toBe(0);

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { runs: { alg: string; role: string; completed: boolean; timeMs: number; downBytes: number; upBytes: number; ratio: number; samples: { fraction: number }[] }[]; summary: Summary[]; settings: Record<string, unknown> };
    expect(results.settings.peers).toBe(5);
    expect(results.runs.map((r) => [r.alg, r.role, r.completed])).toEqual([
      ['aimd', 'alg', true],
      ['tft', 'baseline', true],
    ]);
    for (const r of results.runs) {
      expect(r.downBytes).toBeGreaterThanOrEqual(size); // every byte at least once
      expect(r.downBytes).toBeLessThan(2 * size);
      expect(r.timeMs).toBeGreaterThan(0);
      expect(r.ratio).toBeCloseTo(r.upBytes / r.downBytes, 6);
      expect(r.samples.at(-1)!.fraction).toBe(1);
    }
    const [alg, base] = results.summary;
    expect(alg!.alg).toBe('aimd');
    expect(base!.role).toBe('baseline');
    expect(alg!.timeS.median).toBeCloseTo(results.runs[0]!.timeMs / 1000, 6);
    expect(alg!.vsBaseline!.timeS.t.estimate).toBeCloseTo((results.runs[0]!.timeMs - results.runs[1]!.timeMs) / 1000, 6);
    expect(alg!.vsBaseline!.upBytes.t.estimate).toBe(results.runs[0]!.upBytes - results.runs[1]!.upBytes);

    // The table on stdout shows the same figures, and the plot and table files exist.
    const table = readFileSync(join(out, 'table.txt'), 'utf8');
    expect(run.stdout).toContain(table.trim().split('\n')[0]);
    expect(table).toMatch(new RegExp(`aimd\\s+1/1\\s+${alg!.timeS.median.toFixed(1)}`));
    expect(table).toMatch(new RegExp(`tft \\(baseline\\)\\s+1/1\\s+${base!.timeS.median.toFixed(1)}`));
    const svg = readFileSync(join(out, 'plot.svg'), 'utf8');
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg.match(/<polyline/g)!.length).toBe(4); // completion and upload rate, one line per run

    // Nothing left: every process it started is gone, and its temporary folder with the sockets.
    expect([...started].filter(alive)).toEqual([]);
    expect(leftovers(tmp)).toEqual([]);
    expect(existsSync(join(out, 'results.json'))).toBe(true);
  });
});
