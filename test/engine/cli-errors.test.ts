// Bad input to `download` and `seed` gives one clear line on stderr and exit status 1, never a hang.
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ccp, killAll, makeTorrent, tempDir, withTimeout } from './helpers.js';

const dirs: (() => void)[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) d();
});

describe('download/seed bad input', () => {
  it('names the problem and exits 1', async () => {
    const t = tempDir('cli');
    dirs.push(t.cleanup);
    const bad = join(t.dir, 'bad.torrent');
    writeFileSync(bad, 'garbage');
    const { torrent } = await makeTorrent(t.dir, 'ok.bin', 1000, []);
    const cases: [string[], RegExp][] = [
      [['download', join(t.dir, 'missing.torrent')], /cannot read .*missing\.torrent/],
      [['download', torrent, '--max-up', 'fast'], /invalid rate 'fast'/],
      [['download', torrent, '--peer', 'nohost'], /invalid address 'nohost'/],
      [['seed', bad, '--port', '0', '--host', '127.0.0.1'], /bad\.torrent: not valid bencode[\s\S]*no torrent could be added/],
    ];
    await Promise.all(cases.map(async ([args, msg]) => {
      const p = ccp(args);
      expect(await withTimeout(p.exited, 30_000, args.join(' '))).toBe(1);
      expect(p.out() + p.err()).toMatch(msg);
    }));
  });
});
