// Bundles the CLI (cli/main.ts) and the world's peer host (world/peer-host.ts) into one CommonJS file each
// under node_modules/.cache/ccp-bt/cli/, so a `ccp-bt` process starts in ~0.1 s CPU instead of ~0.5 s of
// tsx compiling ~150 files. bin/launch.cjs runs the bundle only while it is fresh (no input changed since).
//
// One file, not code-split ESM: with the engine spread over chunks, every call into another chunk went
// through an ESM import binding, and a 256 MiB download cost ~8 % more CPU (bench:transfer's leecher,
// alternating runs). CommonJS rather than single-file ESM: another ~3 %, and no module linking at start.
// Command modules still initialise lazily (esbuild wraps what is imported dynamically).
//
// Each build goes to a temp folder renamed to cli/<build id>; then manifest.json (inputs, build time,
// build id) is replaced by rename. A process never sees a half-written bundle, and one already running
// keeps its own build folder (its commands' chunks load lazily) until that is pruned, 30 min after
// it stopped being current.
//
// Run by `npm run build` and `prepare`; vitest's globalSetup calls setup() (rebuild when stale).
// Failing to bundle is never fatal: everything runs from the sources under tsx.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUNDLE_DIR, MANIFEST_PATH, MANIFEST_VERSION, PACKAGE_ROOT, freshBundle } from '../bin/launch.cjs';

const ENTRIES = { main: 'cli/main.ts', 'peer-host': 'world/peer-host.ts', control: 'control-plane/parts.ts' };
/** Where the commands are listed; each also gets an entry of its own (`command:<name>`). */
const COMMANDS_FILE = 'cli/commands.ts';
/** Files outside the import graph that still shape the bundle (compiler settings, dependency versions). */
const EXTRA_INPUTS = ['tsconfig.json', 'package-lock.json'];
const KEEP_RETIRED_MS = 30 * 60_000;
// Kernel file times run on a coarse clock (a few ms behind Date.now()): an edit made just after the build
// started could otherwise look older than it. Erring this way only costs a needless rebuild.
const CLOCK_SLACK_MS = 100;
// CommonJS has no import.meta: modules that resolve files from their own URL get the bundle file's.
const BANNER = "const __ccpImportMetaUrl = require('node:url').pathToFileURL(__filename).href;";

/** dsl/chevrotain.ts loads chevrotain with a top-level await (the sources are ESM), which CommonJS
 *  cannot hold: in the bundle it is a plain re-export of the package, bundled in. */
const chevrotainReexport = {
  name: 'chevrotain-reexport',
  setup(build) {
    build.onResolve({ filter: /^\.\/chevrotain\.js$/ }, (args) =>
      args.importer.startsWith(join(PACKAGE_ROOT, 'dsl') + sep) ? { path: 'chevrotain-reexport', namespace: 'ccp-bt' } : undefined,
    );
    build.onLoad({ filter: /^chevrotain-reexport$/, namespace: 'ccp-bt' }, () => ({
      contents: "export { createToken, Lexer, CstParser, EOF } from 'chevrotain';",
      resolveDir: PACKAGE_ROOT,
      loader: 'js',
    }));
  },
};

/**
 * The control plane (agent, DSL compiler with chevrotain, transports: ~600 KB) is control.cjs, required
 * by the entry that needs it when --ipc/--alg ask for it: inside every download/seed entry it cost each
 * start the parsing of all that code. Modules both sides use (schema constants, clocks, units) are then
 * in both files; none of them holds state or classes the two sides share.
 */
const controlPlaneFile = {
  name: 'control-plane-file',
  setup(build) {
    build.onResolve({ filter: /^\.\/parts\.js$/ }, (args) =>
      args.importer === join(PACKAGE_ROOT, 'control-plane', 'start-control.ts') ? { path: 'control-plane', namespace: 'ccp-bt' } : undefined,
    );
    // require, not import(): the ESM loader would first scan the file for its export names.
    build.onLoad({ filter: /^control-plane$/, namespace: 'ccp-bt' }, () => ({
      contents: "module.exports = require(require('node:path').join(__dirname, 'control.cjs'));",
      loader: 'js',
    }));
  },
};

/**
 * The commands cli/commands.ts lists, as { name, module, register }. A `ccp-bt <name>` process runs an
 * entry holding only that command's code: the whole CLI in one file cost ~25 ms more of parsing per start.
 */
function listCommands() {
  const text = readFileSync(join(PACKAGE_ROOT, COMMANDS_FILE), 'utf8');
  const found = [...text.matchAll(/^\s*(\w+): async \(\) => \(await import\('\.\/commands\/([\w-]+)\.js'\)\)\.(\w+),$/gm)];
  if (found.length === 0) throw new Error(`no commands found in ${COMMANDS_FILE}`);
  return found.map(([, name, module, register]) => ({ name, module, register }));
}

/** `command:<name>` entries: the program with that one command (what cli/main.ts builds when it is asked for). */
function commandEntries(commands) {
  return {
    name: 'command-entries',
    setup(build) {
      build.onResolve({ filter: /^ccp-bt-command:/ }, (args) => ({ path: args.path.slice('ccp-bt-command:'.length), namespace: 'ccp-bt-command' }));
      build.onLoad({ filter: /.*/, namespace: 'ccp-bt-command' }, (args) => {
        const c = commands.find((x) => x.name === args.path);
        return {
          contents:
            `import { runCli } from './cli/program.ts';\n` +
            `import { ${c.register} } from './cli/commands/${c.module}.ts';\n` +
            `void runCli({ ${JSON.stringify(c.name)}: async () => ${c.register} });\n`,
          resolveDir: PACKAGE_ROOT,
          loader: 'ts',
        };
      });
    },
  };
}

/** Builds the bundle; throws on failure. Returns the build id and how long it took. */
export async function buildCliBundle() {
  const { build } = await import('esbuild');
  const startedMs = Date.now();
  const id = `b${startedMs.toString(36)}-${process.pid}`;
  const tmp = join(BUNDLE_DIR, `.tmp-${id}`);
  mkdirSync(BUNDLE_DIR, { recursive: true });
  try {
    const commands = listCommands();
    const entries = { ...ENTRIES, ...Object.fromEntries(commands.map((c) => [`command-${c.name}`, `ccp-bt-command:${c.name}`])) };
    const result = await build({
      absWorkingDir: PACKAGE_ROOT,
      entryPoints: entries,
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      outdir: tmp,
      outExtension: { '.js': '.cjs' },
      define: { 'import.meta.url': '__ccpImportMetaUrl' },
      external: ['unix-dgram', 'tsx', 'tsx/*', 'esbuild'],
      banner: { js: BANNER },
      sourcemap: 'linked', // node --enable-source-maps maps stack traces back to the .ts files
      metafile: true,
      logLevel: 'silent',
      plugins: [chevrotainReexport, controlPlaneFile, commandEntries(commands)],
    });
    const inputs = [...new Set([...Object.keys(result.metafile.inputs), COMMANDS_FILE])].filter((p) => !p.startsWith('node_modules/') && !p.startsWith('../') && !p.includes(':'));
    const manifest = {
      version: MANIFEST_VERSION,
      build: id,
      builtAtMs: startedMs - CLOCK_SLACK_MS,
      entries: {
        ...Object.fromEntries(Object.keys(ENTRIES).map((name) => [name, `${name}.cjs`])),
        ...Object.fromEntries(commands.map((c) => [`command:${c.name}`, `command-${c.name}.cjs`])),
      },
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
  if ('dir' in freshBundle()) return { built: false };
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
