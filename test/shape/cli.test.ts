// `ccp-bt shape` as a process: bad options are refused with a message naming them; a running proxy
// relays, shows up in its stats lines, and stops cleanly on SIGTERM.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ccp, killAll, startShape, waitUntil } from './real-clients.js';
import { listenLoopback, readExactly, socksConnect } from './helpers.js';
import { encodeRequest } from '../../shape/socks5-parser.js';

afterEach(async () => {
  await killAll();
});

describe('ccp-bt shape (process)', () => {
  it('refuses bad options, naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [['--forward', '6881'], /invalid --forward '6881'/],
      [['--user', 'bob'], /--user and --password go together/],
      [['--max-up', 'fast'], /invalid rate 'fast'/],
      [['--no-socks'], /nothing to do/],
      [['--listen', 'nowhere'], /invalid address 'nowhere'/],
    ];
    const procs = cases.map(([args]) => ccp(['shape', ...args]));
    for (let i = 0; i < cases.length; i++) {
      expect(await procs[i]!.exited).toBe(2);
      expect(procs[i]!.err()).toMatch(cases[i]![1]);
    }
  }, 120_000);

  it('relays through SOCKS5 under a total cap, reports stats, and stops on SIGTERM', async () => {
    const target = await listenLoopback();
    try {
      const shape = await startShape(['--listen', '127.0.0.1:0', '--max-down', '300k', '--stats-interval', '0.5', '--user', 'u', '--password', 'p']);
      expect(shape.socksPort).toBeGreaterThan(0);
      const c = await socksConnect(shape.socksPort!, encodeRequest(1, '127.0.0.1', target.port), { user: 'u', password: 'p' });
      const s = await target.accepted();
      const data = randomBytes(450_000);
      s.write(data);
      expect((await readExactly(c, data.length, 30_000)).equals(data)).toBe(true);
      await waitUntil(() => /payload_down=450000/.test(shape.proc.err()), 10_000, 'stats line with the bytes');
      c.destroy();
      shape.proc.child.kill('SIGTERM');
      expect(await shape.proc.exited).toBe(0);
    } finally {
      await target.close();
    }
  }, 120_000);
});
