// The dependency directions the README's folder table states, read off the sources' relative imports:
// dsl and protocol know nothing of BitTorrent, the datapath knows nothing of algorithms, algorithms see
// only the agent API, and nothing below the CLI imports the CLI.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Which top-level folders each folder's sources may import from (besides themselves and packages). */
const ALLOWED: Record<string, readonly string[]> = {
  util: [],
  dsl: ['node_modules'], // the bundled chevrotain (scripts/bundle-chevrotain.mjs)
  protocol: ['util'],
  datapath: ['dsl', 'protocol', 'util'],
  agent: ['protocol', 'util', 'algorithms'], // algorithms: the built-ins by name
  algorithms: ['agent'],
  'control-plane': ['agent', 'datapath', 'protocol', 'util'],
  tracker: ['datapath', 'util'],
  shape: ['datapath', 'protocol', 'control-plane', 'util'],
  world: ['agent', 'algorithms', 'control-plane', 'datapath', 'tracker', 'util'],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(ts|mts|cts)$/.test(e.name) ? [p] : [];
  });
}

/** The relative module specifiers a file imports, statically or dynamically, and re-exports. */
function relativeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)'(\.{1,2}\/[^']+)'/g)) out.push(m[1]!);
  return out;
}

function topFolder(absPath: string): string {
  return relative(ROOT, absPath).split(sep)[0]!;
}

describe('architecture', () => {
  it('finds the imports it checks (the scan is not empty)', () => {
    const imports = relativeImports(readFileSync(join(ROOT, 'world', 'world-peer.ts'), 'utf8'));
    expect(imports).toContain('../control-plane/start-control.js');
    expect(relativeImports("const m = await import('../a/b.js');\nexport { x } from './c.js';")).toEqual(['../a/b.js', './c.js']);
  });

  for (const [folder, allowed] of Object.entries(ALLOWED)) {
    it(`${folder}/ imports only from ${allowed.length ? allowed.join(', ') : 'itself'}`, () => {
      const offences: string[] = [];
      for (const file of sources(join(ROOT, folder))) {
        for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
          const target = topFolder(resolve(dirname(file), spec));
          if (target !== folder && !allowed.includes(target)) offences.push(`${relative(ROOT, file)} imports ${spec}`);
        }
      }
      expect(offences).toEqual([]);
    });
  }
});
