import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, readConfigFile, mergeSettings, ConfigError, configToSettings } from '../../world/config.js';
import { checkAlgorithm } from '../../world/algorithm-check.js';

const dir = mkdtempSync(join(tmpdir(), 'ccp-world-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problems(raw: Record<string, unknown>): string[] {
  try {
    resolveConfig(raw);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
}

describe('world config', () => {
  it('defaults resolve to a valid world', () => {
    const c = resolveConfig({});
    expect(c.peers).toBeGreaterThan(0);
    expect(c.sizeBytes).toBeGreaterThanOrEqual(c.pieceLength);
    expect(c.baseline).toBe('tft');
  });

  it('flags override the file, and units are understood', () => {
    const c = resolveConfig(mergeSettings({ peers: 3, size: '2M', upload: 'fixed:10k' }, { peers: '5' }));
    expect(c.peers).toBe(5);
    expect(c.sizeBytes).toBe(2_000_000);
    expect(c.upload).toEqual({ kind: 'fixed', value: 10_000 });
  });

  it('collects every problem with the flag it belongs to', () => {
    const p = problems({ peers: '-2', seeds: 'x', size: '10k', pieceLength: '64k', trials: 0, upload: 'uniform:9-1', external: 'bittorrent:2' });
    expect(p.join('\n')).toMatch(/--peers: must be at least 0, got -2/);
    expect(p.join('\n')).toMatch(/--seeds: expected a whole number/);
    expect(p.join('\n')).toMatch(/--piece-length: must be a power of two from 16 KiB/);
    expect(p.join('\n')).toMatch(/--trials: must be at least 1/);
    expect(p.join('\n')).toMatch(/--upload: uniform range/);
    expect(p.join('\n')).toMatch(/--external: unknown external client 'bittorrent'/);
  });

  it('a size below one piece is refused', () => {
    expect(problems({ size: '16KiB', pieceLength: '64KiB' }).join('\n')).toMatch(/--size: 16384 bytes is below one piece/);
  });

  it('seeds must fit in the world and there must be one', () => {
    expect(problems({ peers: 2, seeds: 3 }).join('\n')).toMatch(/--seeds: 3 seeds but the world has only 2 peers/);
    expect(problems({ peers: 2, seeds: 0 }).join('\n')).toMatch(/at least one seed/);
    expect(problems({ peers: 0, seeds: 1, external: 'aria2:2' })).toEqual([]);
  });

  it('reads world.json with camel or kebab keys and refuses unknown ones', () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ comment: 'x', peers: 4, 'piece-length': '32KiB', stages: 'choice:0,0.5' }));
    const c = resolveConfig(readConfigFile(good));
    expect(c.peers).toBe(4);
    expect(c.pieceLength).toBe(32768);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ peeers: 4 }));
    expect(() => readConfigFile(bad)).toThrow(/unknown setting 'peeers'/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"peers": 4');
    expect(() => readConfigFile(broken)).toThrow(/not valid JSON/);
    expect(() => readConfigFile(join(dir, 'missing.json'))).toThrow(/cannot read it \(ENOENT\)/);
  });

  it('random settings and random config files give a ConfigError or a config, never a crash', () => {
    const value = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }));
    const key = fc.constantFrom('peers', 'seeds', 'size', 'pieceLength', 'upload', 'stages', 'myUpload', 'alg', 'trials', 'seed', 'external', 'set', 'warmup', 'timeout', 'json');
    fc.assert(
      fc.property(fc.dictionary(key, value), (raw) => {
        try {
          const c = resolveConfig(raw);
          expect(c.sizeBytes).toBeGreaterThanOrEqual(c.pieceLength);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
        }
      }),
      { numRuns: 500 },
    );
    const file = join(dir, 'random.json');
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.json().map((j) => j.slice(0, Math.floor(j.length / 2)))), (text) => {
        writeFileSync(file, text);
        try {
          resolveConfig(readConfigFile(file));
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a resolved config round-trips through its settings form', () => {
    const c = resolveConfig({ upload: 'choice:20k,50k', external: 'aria2:2', seed: 9 });
    expect(resolveConfig(configToSettings(c))).toEqual({ ...c, out: undefined, json: false });
  });
});

describe('algorithm check', () => {
  it('--set values are checked as key=value and by the algorithm itself', async () => {
    expect(await checkAlgorithm('fixed', '--alg', ['rate'])).toMatch(/--set: invalid --set 'rate': expected key=value/);
    expect(await checkAlgorithm('fixed', '--alg', ['rate=50k'])).toBeNull();
  });

  it('unknown names and missing files are named', async () => {
    expect(await checkAlgorithm('no-such-alg', '--alg')).toMatch(/--alg: unknown algorithm 'no-such-alg'/);
    expect(await checkAlgorithm('./nope.ts', '--alg')).toMatch(/does not exist/);
  });

  it('a .ts file that does not load is reported with the cause', async () => {
    const broken = join(dir, 'broken-alg.ts');
    writeFileSync(broken, 'import { nothing } from "./not-there.js";\nexport default class X { n = nothing; }\n');
    expect(await checkAlgorithm(broken, '--alg')).toMatch(/--alg: algorithm file .*broken-alg\.ts failed to load/);
    const throws = join(dir, 'throws-alg.ts');
    writeFileSync(throws, 'throw new Error("boom at load");\n');
    expect(await checkAlgorithm(throws, '--alg')).toMatch(/boom at load/);
    const empty = join(dir, 'empty-alg.ts');
    writeFileSync(empty, 'export const x = 1;\n');
    expect(await checkAlgorithm(empty, '--alg')).toMatch(/exports no Algorithm/);
    const ok = join(dir, 'ok-alg.ts');
    writeFileSync(ok, 'export default class Mine { onCreate(): void {} onReport(): void {} }\n');
    expect(await checkAlgorithm(ok, '--alg')).toBeNull();
  });
});
