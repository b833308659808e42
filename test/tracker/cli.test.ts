// `ccp-bt tracker` as a real process: prints its URLs, serves announces, logs them with --verbose,
// exits cleanly on SIGTERM, and refuses bad options with a clear message.
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { announceHttp } from '../../datapath/tracker/http.js';
import { announceUdp } from '../../datapath/tracker/udp.js';
import { TrackerError } from '../../datapath/tracker/tracker-error.js';
import { Processes, makeTempDir, randomId, removeDir, waitFor } from './helpers.js';

const bin = resolve(import.meta.dirname, '../../bin/ccp-bt.cjs');
const procs = new Processes();
const dirs: string[] = [];
afterAll(async () => {
  await procs.killAll();
  for (const d of dirs) removeDir(d);
});

function exitOf(child: ReturnType<Processes['start']>): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));
}

describe('ccp-bt tracker', () => {
  it('serves HTTP and UDP announces, logs them with --verbose, and stops on SIGTERM', async () => {
    const ih = randomId();
    const dir = makeTempDir('tracker-cli');
    dirs.push(dir);
    writeFileSync(join(dir, 'allowed.txt'), `# torrents we serve\n${ih.toString('hex')}\n`);
    const child = procs.start(process.execPath, [bin, 'tracker', '--verbose', '--interval', '5', '--whitelist', join(dir, 'allowed.txt')]);
    const out = (): string => procs.output.get(child) ?? '';
    const urls = await waitFor(() => /http: (\S+)\nudp: (\S+)\n/.exec(out()) ?? undefined, 20_000, 'the tracker URLs');
    const [, httpUrl, udpUrl] = urls;
    const base = { infoHash: ih, uploaded: 0, downloaded: 0, left: 0, event: 'started' as const, key: 1 };
    const a = await announceHttp(httpUrl!, { ...base, peerId: randomId(), port: 8001 });
    expect(a.intervalS).toBe(5);
    const b = await announceUdp(udpUrl!, { ...base, left: 10, peerId: randomId(), port: 8002 }, { timeoutMs: 500, maxRetries: 2 });
    expect(b.peers).toEqual([{ host: '127.0.0.1', port: 8001 }]);
    await expect(announceHttp(httpUrl!, { ...base, infoHash: randomId(), peerId: randomId(), port: 8003 })).rejects.toBeInstanceOf(TrackerError);
    await waitFor(() => out().includes(`udp ${ih.toString('hex')} 127.0.0.1:8002 started`), 5000, 'the verbose line');
    expect(out()).toContain(`http ${ih.toString('hex')} 127.0.0.1:8001 started`);
    process.kill(child.pid!, 'SIGTERM');
    expect(await exitOf(child)).toBe(0);
    expect(out()).toContain('tracker stopped');
  });

  it('refuses bad options before starting', async () => {
    const cases = [
      [['--interval', '0'], /invalid --interval/],
      [['--port', '70000'], /invalid port/],
      [['--host', 'not-an-ip'], /must be an IP address/],
      [['--whitelist', '/nonexistent/list.txt'], /cannot read whitelist/],
    ] as const;
    // Started together: each start pays for loading the CLI.
    const children = cases.map(([args]) => procs.start(process.execPath, [bin, 'tracker', ...args]));
    const codes = await Promise.all(children.map(exitOf));
    cases.forEach(([, message], i) => {
      expect(codes[i]).toBe(1);
      expect(procs.output.get(children[i]!)).toMatch(message);
    });
  });
});
