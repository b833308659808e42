// Bad settings give clear errors before anything starts: no process, no temporary file, no output dir.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld, leftovers } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'ccp-world-errors-'));
// One TMPDIR for every run here, so tsx's compile cache is made once.
const tmp = mkdtempSync(join(root, 'tmp-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function refused(args: string[]): Promise<string> {
  const out = join(root, `out-${Math.random().toString(36).slice(2)}`);
  const run = startWorld([...args, '--out', out], tmp);
  const { code } = await run.done;
  expect(code).toBe(2);
  expect(leftovers(tmp)).toEqual([]); // nothing was started or written
  expect(existsSync(out)).toBe(false);
  expect(run.stdout).toBe('');
  return run.stderr;
}

describe('ccp-bt world refuses bad settings before anything starts', () => {
  it('negative counts, a size below a piece, bad distributions, unknown algorithms: all named at once', async () => {
    const err = await refused(['--peers', '-3', '--seeds', '-1', '--size', '10k', '--piece-length', '64KiB', '--upload', 'normal:5-6', '--stages', 'uniform:0-1.5', '--alg', 'no-such-alg', '--trials', '0']);
    expect(err).toMatch(/--peers: must be at least 0, got -3/);
    expect(err).toMatch(/--seeds: must be at least 0, got -1/);
    expect(err).toMatch(/--size: 10000 bytes is below one piece/);
    expect(err).toMatch(/--upload: unknown distribution 'normal'/);
    expect(err).toMatch(/--stages: 1\.5 must be below 1/);
    expect(err).toMatch(/--alg: unknown algorithm 'no-such-alg': built-ins are .*tft/);
    expect(err).toMatch(/--trials: must be at least 1/);
    for (const line of err.trim().split('\n')) expect(line).toMatch(/^ccp-bt world: --/);
  });

  it('an algorithm file that does not load, with the reason', async () => {
    const file = join(root, 'broken.ts');
    writeFileSync(file, 'export default class Broken {\n  onCreate( {\n}\n');
    const err = await refused(['--alg', file, '--baseline', join(root, 'missing.ts')]);
    expect(err).toMatch(/--alg: algorithm file .*broken\.ts failed to load: /);
    expect(err).toMatch(/--baseline: algorithm file .*missing\.ts does not exist/);
  });

  it('a config file with an unknown key or a bad value, and flags overriding it', async () => {
    const cfg = join(root, 'world.json');
    writeFileSync(cfg, JSON.stringify({ peers: 4, seeds: 9, worldAlg: 'nope' }));
    const err = await refused(['--config', cfg]);
    expect(err).toMatch(/--seeds: 9 seeds but the world has only 4 peers/);
    expect(err).toMatch(/--world-alg: unknown algorithm 'nope'/);
    const err2 = await refused(['--config', cfg, '--seeds', '1', '--external', 'aria2:x']);
    expect(err2).not.toMatch(/--seeds/);
    expect(err2).toMatch(/--external: expected CLIENT:COUNT like aria2:2, got 'aria2:x'/);
    const bad = join(root, 'bad.json');
    writeFileSync(bad, '{"peers": 3, "colour": "red"}');
    expect(await refused(['--config', bad])).toMatch(/unknown setting 'colour'/);
  });
});
