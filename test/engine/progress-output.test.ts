// What `download` shows while it runs: a progress bar (percent, sizes, rates, peers, ETA) on a terminal,
// plain lines when piped, JSON lines with --json. The terminal case runs under util-linux `script`, which
// gives the process a pseudo-terminal, as a user's shell would.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ccp, freePort, killAll, makeTorrent, run, tempDir, waitFor, withTimeout } from './helpers.js';

const dirs: (() => void)[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) d();
});

/** A seeder of 4 MiB and the arguments for a download of it from 127.0.0.1, capped to last ~1 s. */
async function swarm(trackers: string[] = []): Promise<{ args: string[]; dir: string }> {
  const t = tempDir('progress');
  dirs.push(t.cleanup);
  const { torrent } = await makeTorrent(t.dir, 'movie.bin', 4 * 1024 * 1024, trackers);
  const port = await freePort();
  const seeder = ccp(['seed', torrent, '--data', t.dir, '--host', '127.0.0.1', '--port', String(port)]);
  await waitFor(() => /seeding/.test(seeder.out() + seeder.err()), 30_000, 'the seeder to start');
  const args = ['download', torrent, '-o', join(t.dir, 'out'), '--host', '127.0.0.1', '--port', '0', '--peer', `127.0.0.1:${port}`, '--max-down', '4M'];
  return { args, dir: t.dir };
}

describe('download progress output', () => {
  // `script` comes with util-linux (Debian's essential bsdutils), like `sh`.
  it('draws a bar with percent, sizes, rates, peers and ETA on a terminal', async () => {
    const { args } = await swarm();
    const cmd = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
    const p = run('script', ['-qfec', cmd, '/dev/null']);
    expect(await withTimeout(p.exited, 60_000, 'download under script', () => p.out() + p.err())).toBe(0);
    const screen = p.out();
    expect(screen).toMatch(/movie\.bin \[[█░]+\] \d+% \| [\d.]+ [kM]?B\/4\.19 MB \| ↓ [\d.]+ [kM]?B\/s ↑ [\d.]+ [kM]?B\/s \| peers \d \| ETA (\d+s|--)/);
    expect(screen).toMatch(/\[█+\] 100% \| 4\.19 MB\/4\.19 MB/);
    expect(screen).toMatch(/movie\.bin: done/);
  });

  it('prints plain lines when piped, and JSON lines with --json', async () => {
    const { args } = await swarm();
    const plain = ccp(args);
    expect(await withTimeout(plain.exited, 60_000, 'piped download', () => plain.out() + plain.err())).toBe(0);
    expect(plain.out()).toMatch(/movie\.bin: [\d.]+% [\d.]+ [kM]?B\/4\.19 MB down [\d.]+ [kM]?B\/s up [\d.]+ [kM]?B\/s peers \d ETA /);
    expect(plain.out()).not.toMatch(/█/);
    const json = ccp([...args.map((a) => (a.endsWith('out') ? `${a}2` : a)), '--json']);
    expect(await withTimeout(json.exited, 60_000, 'download --json', () => json.out() + json.err())).toBe(0);
    const events = json.out().trim().split('\n').map((l) => JSON.parse(l) as { event: string; percent?: number });
    expect(events.some((e) => e.event === 'progress' && e.percent === 100)).toBe(true);
    expect(events.at(-1)?.event).toBe('stopped');
  });

  it('shows a warning in plain output without -v: a tracker that refuses connections', async () => {
    const dead = await freePort(); // nothing listens there
    const { args } = await swarm([`http://127.0.0.1:${dead}/announce`]);
    const plain = ccp(args);
    expect(await withTimeout(plain.exited, 60_000, 'download with a dead tracker', () => plain.out() + plain.err())).toBe(0);
    const warnings = plain.out().split('\n').filter((l) => l.includes(`tracker http://127.0.0.1:${dead}/announce`));
    expect(warnings.length, plain.out()).toBeGreaterThanOrEqual(1);
    // ECONNREFUSED, unless another test's socket took the free port meanwhile: any reason will do.
    expect(warnings[0]).toMatch(/^movie\.bin: tracker http:\/\/127\.0\.0\.1:\d+\/announce: \S.*/);
  });

  it('a piece that cannot be written stops the download with exit 1 and says why', async () => {
    const { args, dir } = await swarm();
    mkdirSync(join(dir, 'out', 'movie.bin'), { recursive: true }); // a folder where the file should go
    const plain = ccp(args);
    expect(await withTimeout(plain.exited, 60_000, 'download into a folder', () => plain.out() + plain.err())).toBe(1);
    expect(plain.err()).toMatch(/^ccp-bt: movie\.bin: writing piece \d+ failed: .*EISDIR; download stopped$/m);
    const json = ccp([...args, '--json']);
    expect(await withTimeout(json.exited, 60_000, 'download --json into a folder', () => json.out() + json.err())).toBe(1);
    const stopped = json.out().trim().split('\n').map((l) => JSON.parse(l) as { event: string; reason?: string }).filter((e) => e.event === 'stopped');
    expect(stopped).toEqual([expect.objectContaining({ reason: expect.stringMatching(/EISDIR; download stopped$/) })]);
  });

  it('output to a closed pipe is dropped: the download finishes and exits 0, no EPIPE crash', async () => {
    const { args } = await swarm();
    const p = run('bash', ['-c', '"$@" | head -n 1 > /dev/null; exit "${PIPESTATUS[0]}"', '_', process.execPath, CLI, ...args]);
    expect(await withTimeout(p.exited, 60_000, 'download | head -n 1', () => p.out() + p.err())).toBe(0);
    expect(p.err()).not.toMatch(/EPIPE|Unhandled/);
  });
});
