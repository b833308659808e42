// Bundles chevrotain (hundreds of small lodash-es modules) into one file at install time: importing it
// then costs ~30 ms instead of ~1 s under the tsx loader, which every `ccp-bt` process that compiles a
// program pays. dsl/chevrotain.ts falls back to the package itself when the bundle is missing.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'node_modules', '.cache', 'ccp-bt', 'chevrotain.mjs');
try {
  const require = createRequire(join(root, 'package.json'));
  const { build } = await import('esbuild');
  mkdirSync(dirname(out), { recursive: true });
  await build({ entryPoints: [require.resolve('chevrotain')], bundle: true, format: 'esm', platform: 'node', outfile: out, logLevel: 'warning' });
} catch (err) {
  // Not fatal: the DSL loads chevrotain from the package, only more slowly.
  console.warn(`ccp-bt: could not bundle chevrotain (${err instanceof Error ? err.message : String(err)}); using the package as it is`);
}
