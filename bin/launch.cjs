// How every ccp-bt process starts: from the prebuilt bundle (scripts/bundle-cli.mjs) when it is fresh,
// else from the TypeScript sources under tsx (~0.5 s CPU of compiling per start, against ~0.05 s).
// Plain CommonJS on purpose: it runs before anything can compile TypeScript, and an ESM entry would
// cost each process ~6 ms of CPU for the ESM loader (median of 30 alternating starts).
'use strict';
const { readFileSync, statSync } = require('node:fs');
const { join, sep } = require('node:path');
const { pathToFileURL } = require('node:url');
const { tuneV8 } = require('./v8-tuning.cjs');

const PACKAGE_ROOT = join(__dirname, '..') + sep;
/** The bundle's home: one folder per build beside manifest.json, which names the current one. */
const BUNDLE_DIR = join(PACKAGE_ROOT, 'node_modules', '.cache', 'ccp-bt', 'cli');
const MANIFEST_PATH = join(BUNDLE_DIR, 'manifest.json');
const MANIFEST_VERSION = 1;

/** Read by agent/load-algorithm.ts (another module copy: hence a global): 'bundle' or 'sources'. */
const STARTED_FROM = Symbol.for('ccp-bt.started-from');

/**
 * The current bundle if it is there and no source it was built from changed since (stat'ing ~150 files
 * costs ~1.5 ms of CPU in a fresh process): its folder and entry files by name ('main', 'peer-host',
 * 'command:<name>'); else why not.
 * @returns {{ dir: string, entries: Record<string, string> } | { stale: string }}
 */
function freshBundle() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(MANIFEST_PATH, 'utf8'));
  } catch {
    return { stale: 'no bundle built (npm run build makes one)' };
  }
  if (
    manifest?.version !== MANIFEST_VERSION || typeof manifest.build !== 'string' || !Array.isArray(manifest.inputs) ||
    typeof manifest.builtAtMs !== 'number' || typeof manifest.entries !== 'object' || manifest.entries === null
  ) {
    return { stale: 'the bundle manifest is unreadable' };
  }
  for (const rel of manifest.inputs) {
    // A plain concatenation (PACKAGE_ROOT ends with a separator; inputs are clean relative paths):
    // path.join per input, run cold in every fresh process, cost ~2.5 ms of a start's ~45 ms.
    const st = typeof rel === 'string' ? statSync(PACKAGE_ROOT + rel, { throwIfNoEntry: false }) : undefined;
    if (st === undefined) return { stale: `${rel} is gone since the bundle was built` };
    if (st.mtimeMs > manifest.builtAtMs) return { stale: `${rel} changed since the bundle was built` };
  }
  return { dir: join(BUNDLE_DIR, manifest.build), entries: manifest.entries };
}

function debug(line) {
  if (process.env.CCP_BT_DEBUG_START === '1') process.stderr.write(`ccp-bt: ${line}\n`);
}

/**
 * Runs `entry` from the bundle when fresh, else `sourceUrl` (a .ts file) under tsx.
 * CCP_BT_FROM_SOURCE=1 forces the sources; CCP_BT_DEBUG_START=1 says on stderr which one ran and why.
 * The V8 settings (v8-tuning.cjs) are applied once the program's modules have loaded: a V8 flag changed
 * before that makes V8 refuse Node's own code cache for every built-in module loaded after it (+16 ms
 * of CPU per start).
 * @param {string} entry
 * @param {string} sourceUrl
 * @returns {Promise<void>}
 */
async function launch(entry, sourceUrl) {
  let found = process.env.CCP_BT_FROM_SOURCE === '1' ? { stale: 'CCP_BT_FROM_SOURCE=1' } : freshBundle();
  if ('dir' in found) {
    // `ccp-bt <command>` runs the bundle's entry for that command alone when it has one (less to parse).
    const own = entry === 'main' ? found.entries[`command:${process.argv[2]}`] : undefined;
    const file = typeof own === 'string' ? own : found.entries[entry];
    found = typeof file === 'string' ? { path: join(found.dir, file) } : { stale: `the bundle has no entry '${entry}'` };
  }
  if ('path' in found) {
    globalThis[STARTED_FROM] = 'bundle';
    debug(`start from bundle ${found.path}`);
    try {
      // require, not import(): the ESM loader would first scan the whole CommonJS file for its export
      // names (~90 ms of CPU for a 1 MiB bundle); an ESM bundle from an older build still imports.
      if (found.path.endsWith('.cjs')) require(found.path);
      else await import(pathToFileURL(found.path).href);
      tuneV8();
      return;
    } catch (err) {
      // Only a bundle pruned between reading the manifest and loading it falls back (nothing ran yet).
      const missing = (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') && String(err.message).includes(BUNDLE_DIR);
      if (!missing) throw err;
      debug(`bundle vanished (${err.message.split('\n')[0]})`);
    }
  } else {
    debug(`start from sources: ${found.stale}`);
  }
  globalThis[STARTED_FROM] = 'sources';
  const { register } = await import('tsx/esm/api');
  register();
  await import(sourceUrl);
  tuneV8();
}

exports.PACKAGE_ROOT = PACKAGE_ROOT;
exports.BUNDLE_DIR = BUNDLE_DIR;
exports.MANIFEST_PATH = MANIFEST_PATH;
exports.MANIFEST_VERSION = MANIFEST_VERSION;
exports.freshBundle = freshBundle;
exports.launch = launch;
