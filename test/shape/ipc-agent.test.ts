// The shaping proxy steered by a separate agent process over Unix datagram sockets, as a user runs it:
// `ccp-bt shape --ipc unix` in one process, `ccp-bt connect --ipc unix --alg fixed` in another. A
// ccp-bt leecher downloads from a ccp-bt seeder through a forward port; the agent's per-flow Rate must
// hold, and when the agent is killed the flow goes back to the standard policy (unshaped) and finishes.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ccp, freePort, killAll, makeTorrent, startShape, tempDir, waitUntil, type Proc } from './real-clients.js';

const cleanups: (() => void)[] = [];
afterEach(async () => {
  await killAll();
  while (cleanups.length) cleanups.pop()!();
});

/** The proxy's `--stats-interval` lines: cumulative payload bytes with timestamps. */
function statsOf(proc: Proc): { tMs: number; up: number }[] {
  return [...proc.err().matchAll(/t_ms=(\d+) payload_up=(\d+) payload_down=(\d+)/g)].map((m) => ({ tMs: Number(m[1]), up: Number(m[2]) }));
}

const SIZE = 4 * 1024 * 1024;
const RATE = 300_000;

describe('ccp-bt shape with an agent in another process (--ipc unix)', () => {
  it('holds the Rate the agent sets per flow, and falls back when the agent dies', async () => {
    const t = tempDir('shape-ipc');
    cleanups.push(t.cleanup);
    const sock = join(t.dir, 'sock');
    mkdirSync(sock, { mode: 0o700 });
    const { data, torrent, infoHash } = await makeTorrent(t.dir, 'payload.bin', SIZE);
    const seedPort = await freePort();
    ccp(['seed', torrent, '--data', t.dir, '--host', '127.0.0.1', '--port', String(seedPort), '--no-announce']);
    const agent = ccp(['connect', '--ipc', 'unix', '--socket-dir', sock, '--alg', 'fixed', '--set', `rate=${RATE}`, '--heartbeat', '200']);
    const fwdPort = await freePort();
    const shape = await startShape(['--no-socks', '--listen', '127.0.0.1:0', '--forward', `${fwdPort}:127.0.0.1:${seedPort}`, '--stats-interval', '0.5', '--ipc', 'unix', '--socket-dir', sock]);
    await waitUntil(() => /attached to datapath/.test(agent.out() + agent.err()), 20_000, 'agent attached to the proxy');
    const out = join(t.dir, 'leech');
    const leecher = ccp(['download', torrent, '-o', out, '--peer', `127.0.0.1:${fwdPort}`, '--no-announce', '--host', '127.0.0.1', '--port', String(await freePort()), '--json']);
    // ~3 s at the agent's rate (unshaped, 4 MB take well under a second on loopback).
    await waitUntil(() => (statsOf(shape.proc).at(-1)?.up ?? 0) > 0.4 * SIZE || leecher.child.exitCode !== null, 30_000, 'transfer under way');
    const before = statsOf(shape.proc).filter((s) => s.up > 0 && s.up < 0.4 * SIZE);
    expect(before.length, shape.proc.err()).toBeGreaterThanOrEqual(3);
    const a = before[0]!;
    const b = before[before.length - 1]!;
    const rate = ((b.up - a.up) * 1000) / (b.tMs - a.tMs);
    expect(Math.abs(rate / RATE - 1), `rate ${rate.toFixed(0)} B/s`).toBeLessThan(0.1);
    expect(shape.proc.err()).toContain(`info-hash ${infoHash}`);
    // The agent dies: after its silence the proxy hands the flow back and the rest goes unshaped.
    agent.child.kill('SIGKILL');
    const code = await Promise.race([leecher.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
    expect(code, `leecher: ${leecher.err()}`).toBe(0);
    expect(readFileSync(join(out, 'payload.bin')).equals(readFileSync(data))).toBe(true);
    await waitUntil(() => statsOf(shape.proc).some((s) => s.up >= SIZE), 5000, 'the proxy to count the whole transfer');
    const end = statsOf(shape.proc).filter((s) => s.up >= SIZE)[0];
    // Had the cap stayed, the last 60 % would have taken ~8 s more at 300 kB/s.
    expect(end, 'the proxy saw the whole transfer').toBeDefined();
    expect(end!.tMs - b.tMs).toBeLessThan(6000);
  }, 90_000);
});
