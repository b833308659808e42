// Ctrl-C in the middle of a world: every process it started goes, and no socket or temporary file stays.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld, descendants, alive, killAll, leftovers, type CliRun } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'ccp-world-sigint-'));
const tmp = mkdtempSync(join(root, 'tmp-'));
const started = new Set<number>();
let run: CliRun | undefined;
afterAll(() => {
  if (run?.child.pid) killAll([...descendants(run.child.pid), run.child.pid]);
  killAll(started);
  rmSync(root, { recursive: true, force: true });
});

describe('ccp-bt world on SIGINT', () => {
  it('stops every process it started and removes its sockets and temporary files', async () => {
    // Slow enough that my client is still downloading when the signal comes.
    run = startWorld(['--peers', '4', '--seeds', '1', '--size', '4MiB', '--piece-length', '64KiB', '--upload', 'fixed:50k', '--alg', 'aimd', '--trials', '3', '--json', '--out', join(root, 'out')], tmp);
    const pid = run.child.pid!;
    // Wait until the world runs and my client has begun (a progress line from a running phase).
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !/"phase":"running"/.test(run.stdout) && run.child.exitCode === null) {
      descendants(pid).forEach((p) => started.add(p));
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(run.stdout).toMatch(/"phase":"running"/);
    // Let my client's datapath and agent both be up, then take a last census.
    await new Promise((r) => setTimeout(r, 1500));
    descendants(pid).forEach((p) => started.add(p));
    const names = [...started].length;
    expect(names).toBeGreaterThanOrEqual(3); // world peers, my agent, my datapath (at least)
    expect(leftovers(tmp).some((f) => f.endsWith('.sock'))).toBe(true);

    run.child.kill('SIGINT');
    const { code } = await run.done;
    expect(code).toBe(130);
    expect(run.stderr).toMatch(/SIGINT: stopping every process/);
    // Processes are gone by PID, and nothing remains in its TMPDIR: no socket, no data, no folder.
    await new Promise((r) => setTimeout(r, 300));
    expect([...started].filter(alive)).toEqual([]);
    expect(leftovers(tmp)).toEqual([]);
    expect(existsSync(join(root, 'out'))).toBe(false); // no run finished: no empty output folder either
  });

  it('even killed with SIGKILL, its watchdog stops what it started and removes its temporary folder', async () => {
    const tmp2 = mkdtempSync(join(root, 'tmp-kill-'));
    run = startWorld(['--peers', '3', '--seeds', '1', '--size', '4MiB', '--piece-length', '64KiB', '--upload', 'fixed:50k', '--alg', 'aimd', '--json', '--out', join(root, 'out2')], tmp2);
    const pid = run.child.pid!;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !/"phase":"running"/.test(run.stdout) && run.child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 1500));
    const mine = descendants(pid);
    mine.forEach((p) => started.add(p));
    expect(mine.length).toBeGreaterThanOrEqual(4); // guard, world peers, my agent, my datapath
    run.child.kill('SIGKILL');
    await run.done;
    // The guard gives them 2 s to go on SIGTERM, then SIGKILL; allow a margin on a busy machine.
    const until = Date.now() + 10_000;
    while (Date.now() < until && (mine.some(alive) || leftovers(tmp2).length > 0)) await new Promise((r) => setTimeout(r, 200));
    expect(mine.filter(alive)).toEqual([]);
    expect(leftovers(tmp2)).toEqual([]);
  });
});
