// --world-alg: the world's own peers are steered by an algorithm (an in-process agent per peer), and
// my client still completes in that world.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld, descendants, alive, killAll, leftovers, type CliRun } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'ccp-world-alg-'));
const tmp = mkdtempSync(join(root, 'tmp-'));
const started = new Set<number>();
let run: CliRun | undefined;
afterAll(() => {
  if (run?.child.pid) killAll([...descendants(run.child.pid), run.child.pid]);
  killAll(started);
  rmSync(root, { recursive: true, force: true });
});

describe('ccp-bt world --world-alg', () => {
  it("attaches an agent to every world peer and my client completes", async () => {
    const out = join(root, 'out');
    run = startWorld(['--peers', '3', '--seeds', '1', '--size', '512KiB', '--piece-length', '16KiB', '--upload', 'fixed:200k', '--stages', 'choice:0.2,0.5', '--rebirth-pause', '0.5', '--world-alg', 'fixed', '--world-set', 'rate=100k', '--alg', 'aimd', '--baseline', 'tft', '--warmup', '1', '--timeout', '60', '--verbose', '--out', out], tmp);
    const watch = setInterval(() => run?.child.pid && descendants(run.child.pid).forEach((p) => started.add(p)), 200);
    const { code } = await run.done;
    clearInterval(watch);
    expect(code).toBe(0);
    // Each world peer (world-<index>.<incarnation>) was attached to its in-process agent.
    for (const i of [0, 1, 2]) expect(run.stderr).toMatch(new RegExp(`\\[world\\] agent: attached to datapath world-${i}\\.0 `));
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { settings: Record<string, unknown>; runs: { completed: boolean }[] };
    expect(results.settings.worldAlg).toBe('fixed');
    expect(results.settings.worldSet).toEqual(['rate=100k']);
    expect(results.runs.map((r) => r.completed)).toEqual([true, true]);
    expect([...started].filter(alive)).toEqual([]);
    expect(leftovers(tmp)).toEqual([]);
  });
});
