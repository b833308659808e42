// tyrant in a small real world: `ccp-bt world --alg tyrant` as a process (our own peers, my client as a
// datapath + agent over unix datagrams), against tft, to completion; results.json holds the figures.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../bin/ccp-bt.cjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'ccp-tyrant-world-'));
let child: ChildProcess | undefined;

afterAll(() => {
  // The world stops its own children; if it is still up (a failed assertion), it goes with its group.
  if (child?.pid && child.exitCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(root, { recursive: true, force: true });
});

interface RunRecord {
  alg: string;
  role: string;
  completed: boolean;
  timeMs: number;
  downBytes: number;
  upBytes: number;
}

describe('tyrant in a real world', () => {
  it('completes a 1 MiB download in a world of 4 peers, as does the tft baseline', async () => {
    const out = join(root, 'out');
    const args = [CLI, 'world', '--alg', 'tyrant', '--baseline', 'tft', '--peers', '4', '--seeds', '1', '--size', '1M', '--piece-length', '32KiB',
      '--upload', 'uniform:100k-300k', '--stages', 'choice:0,0.3,0.6', '--my-upload', '150k', '--trials', '1', '--seed', '5', '--warmup', '0.5', '--timeout', '60', '--out', out];
    child = spawn(process.execPath, args, { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: root } });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.resume();
    const code = await new Promise<number | null>((resolve) => child!.on('exit', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { runs: RunRecord[]; summary: { alg: string; completed: number }[] };
    expect(results.runs.map((r) => [r.alg, r.role, r.completed])).toEqual([
      ['tyrant', 'alg', true],
      ['tft', 'baseline', true],
    ]);
    for (const r of results.runs) {
      expect(r.downBytes).toBeGreaterThanOrEqual(1_000_000);
      expect(r.timeMs).toBeGreaterThan(0);
    }
    expect(results.summary.map((s) => [s.alg, s.completed])).toEqual([
      ['tyrant', 1],
      ['tft', 1],
    ]);
  }, 150_000);
});
