// One of our peers (my client) in a world of real aria2 peers (--external aria2:2): it completes for
// both algorithms, and the aria2 processes are killed by PID at the end.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld, descendants, alive, killAll, leftovers, type CliRun } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'ccp-world-aria2-'));
const tmp = mkdtempSync(join(root, 'tmp-'));
const started = new Map<number, string>();
let run: CliRun | undefined;
afterAll(() => {
  if (run?.child.pid) killAll([...descendants(run.child.pid), run.child.pid]);
  killAll(started.keys());
  rmSync(root, { recursive: true, force: true });
});

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

describe('ccp-bt world with aria2 peers', () => {
  it('my client downloads from an aria2 seed and an aria2 leecher, for both algorithms', async () => {
    const out = join(root, 'out');
    run = startWorld(['--peers', '0', '--seeds', '1', '--external', 'aria2:2', '--size', '1MiB', '--piece-length', '32KiB', '--upload', 'fixed:400k', '--stages', 'choice:0.5', '--alg', 'aimd', '--baseline', 'tft', '--warmup', '0.5', '--timeout', '60', '--out', out], tmp);
    const pid = run.child.pid!;
    const watch = setInterval(() => descendants(pid).forEach((p) => started.has(p) || started.set(p, commandOf(p))), 200);
    const { code } = await run.done;
    clearInterval(watch);
    expect(run.stderr).toBe('');
    expect(code).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { runs: { completed: boolean; downBytes: number }[]; summary: { completed: number }[] };
    expect(results.runs).toHaveLength(2);
    for (const r of results.runs) {
      expect(r.completed).toBe(true);
      expect(r.downBytes).toBeGreaterThanOrEqual(1 << 20);
    }
    // aria2 really was in the world, and is gone now.
    const aria = [...started].filter(([, cmd]) => cmd.includes('aria2c'));
    expect(aria.length).toBeGreaterThanOrEqual(2);
    expect([...started.keys()].filter(alive)).toEqual([]);
    expect(leftovers(tmp)).toEqual([]);
  });
});
