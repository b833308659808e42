// Bundles the CLI (cli/main.ts) and the world's peer host (world/peer-host.ts) into code-split ESM under
// node_modules/.cache/ccp-bt/cli/, so a `ccp-bt` process starts in ~0.1 s CPU instead of ~0.5 s of tsx
// compiling ~150 files. bin/launch.mjs runs the bundle only while it is fresh (no input changed since).
//
// Each build goes to a temp folder renamed to cli/<build id>; then manifest.json (inputs, build time,
// build id) is replaced by rename. A process never sees a half-written bundle, and one already running
// keeps its own build folder (its commands' chunks load lazily) until that is pruned, 30 min after
// it stopped being current.
//
// Run by `npm run build` and `prepare`; vitest's globalSetup calls setup() (rebuild when stale).
// Failing to bundle is never fatal: everything runs from the sources under tsx.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUNDLE_DIR, MANIFEST_PATH, MANIFEST_VERSION, PACKAGE_ROOT, freshBundleEntry } from '../bin/launch.mjs';

const ENTRIES = { main: 'cli/main.ts', 'peer-host': 'world/peer-host.ts' };
/** Files outside the import graph that still shape the bundle (compiler settings, dependency versions). */
const EXTRA_INPUTS = ['tsconfig.json', 'package-lock.json'];
const KEEP_RETIRED_MS = 30 * 60_000;
// Kernel file times run on a coarse clock (a few ms behind Date.now()): an edit made just after the build
// started could otherwise look older than it. Erring this way only costs a needless rebuild.
const CLOCK_SLACK_MS = 100;
// A CommonJS dependency inside ESM output needs a real `require` (esbuild's shim uses one if present).
const BANNER = "import { createRequire as __ccpCreateRequire } from 'node:module'; const require = __ccpCreateRequire(import.meta.url);";

/** dsl/chevrotain.ts imports the install-time chevrotain bundle by a relative path that means nothing
 *  inside this bundle: point it at the package, which this bundle then carries once. */
const chevrotainFromPackage = {
  name: 'chevrotain-from-package',
  setup(build) {
    build.onResolve({ filter: /\.cache\/ccp-bt\/chevrotain\.mjs$/ }, () => ({
      path: createRequire(join(PACKAGE_ROOT, 'package.json')).resolve('chevrotain'),
    }));
  },
};

/** Builds the bundle; throws on failure. Returns the build id and how long it took. */
export async function buildCliBundle() {
  const { build } = await import('esbuild');
  const startedMs = Date.now();
  const id = `b${startedMs.toString(36)}-${process.pid}`;
  const tmp = join(BUNDLE_DIR, `.tmp-${id}`);
  mkdirSync(BUNDLE_DIR, { recursive: true });
  try {
    const result = await build({
      absWorkingDir: PACKAGE_ROOT,
      entryPoints: ENTRIES,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      outdir: tmp,
      outExtension: { '.js': '.mjs' }, // node_modules/ holds no "type": "module" scope
      chunkNames: 'chunks/[name]-[hash]',
      external: ['unix-dgram', 'tsx', 'tsx/*', 'esbuild'],
      banner: { js: BANNER },
      sourcemap: 'linked', // node --enable-source-maps maps stack traces back to the .ts files
      metafile: true,
      logLevel: 'silent',
      plugins: [chevrotainFromPackage],
    });
    const inputs = Object.keys(result.metafile.inputs).filter((p) => !p.startsWith('node_modules/') && !p.startsWith('../') && !p.includes(':'));
    const manifest = {
      version: MANIFEST_VERSION,
      build: id,
      builtAtMs: startedMs - CLOCK_SLACK_MS,
      entries: Object.fromEntries(Object.keys(ENTRIES).map((name) => [name, `${name}.mjs`])),
      inputs: [...inputs.sort(), ...EXTRA_INPUTS.filter((p) => statSync(join(PACKAGE_ROOT, p), { throwIfNoEntry: false }))],
    };
    renameSync(tmp, join(BUNDLE_DIR, id));
    const retired = currentBuildId();
    const manifestTmp = join(BUNDLE_DIR, `.manifest-${id}.json`);
    writeFileSync(manifestTmp, JSON.stringify(manifest, null, 1) + '\n');
    renameSync(manifestTmp, MANIFEST_PATH);
    if (retired !== undefined && retired !== id) touch(join(BUNDLE_DIR, retired)); // its retirement starts now
    pruneOldBuilds(id);
    return { id, ms: Date.now() - startedMs, inputs: manifest.inputs.length };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function currentBuildId() {
  try {
    const id = JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')).build;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

function touch(path) {
  try {
    const now = new Date();
    utimesSync(path, now, now);
  } catch {
    // already pruned by another build
  }
}

/** Removes builds retired (and temp folders left) more than KEEP_RETIRED_MS ago. */
function pruneOldBuilds(keep) {
  const current = currentBuildId();
  for (const name of readdirSync(BUNDLE_DIR)) {
    if (name === keep || name === current || name === 'manifest.json' || name.startsWith('.manifest-')) continue;
    const path = join(BUNDLE_DIR, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isDirectory() && Date.now() - st.mtimeMs > KEEP_RETIRED_MS) rmSync(path, { recursive: true, force: true });
  }
}

/** Builds unless the current bundle is fresh; never throws (a failure is a warning). */
export async function ensureCliBundle() {
  const found = freshBundleEntry('main');
  if ('path' in found) return { built: false };
  try {
    const r = await buildCliBundle();
    return { built: true, ...r };
  } catch (err) {
    warn(err);
    return { built: false, failed: true };
  }
}

function warn(err) {
  const msg = err instanceof Error ? err.message.split('\n').slice(0, 6).join('\n') : String(err);
  console.warn(`ccp-bt: could not bundle the CLI (${msg}); commands run from the sources under tsx`);
}

/** vitest globalSetup: processes the tests spawn run what users run, and start fast. */
export async function setup() {
  await ensureCliBundle();
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  try {
    const r = await buildCliBundle();
    console.log(`ccp-bt: CLI bundled (${r.inputs} inputs, ${r.ms} ms) into ${join(BUNDLE_DIR, r.id)}`);
  } catch (err) {
    warn(err);
  }
}
