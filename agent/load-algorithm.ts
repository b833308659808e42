// Finds the algorithm `--alg` names: a built-in (algorithms/index.ts) or a .ts/.js file loaded as it is
// (compiled by tsx: registered by bin/launch.cjs when the CLI runs from sources, here, on first use, when
// it runs from the prebuilt bundle). Every failure is an Error that says what to do.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtinAlgorithm, builtinNames } from '../algorithms/index.js';
import { Algorithm, SwarmPolicy, type AlgorithmModule } from './api.js';
import type { Params } from './params.js';

export class AlgorithmLoadError extends Error {}

// Set by bin/launch.cjs (a plain module, hence a global): 'bundle' means no TypeScript loader is registered.
const STARTED_FROM = Symbol.for('ccp-bt.started-from');
const TSX_REGISTERED = Symbol.for('ccp-bt.tsx-registered');
type Globals = { [STARTED_FROM]?: string; [TSX_REGISTERED]?: Promise<void> };

/** From the bundle, registers tsx once, right before the first user file (built-ins never pay for it). */
function ensureTypeScriptLoader(): Promise<void> {
  const g = globalThis as Globals;
  if (g[STARTED_FROM] !== 'bundle') return Promise.resolve(); // sources under tsx, or a host (vitest) that compiles
  return (g[TSX_REGISTERED] ??= import('tsx/esm/api').then(({ register }) => void register()));
}

function looksLikePath(spec: string): boolean {
  return spec.includes('/') || spec.includes('\\') || /\.(ts|mts|js|mjs)$/.test(spec);
}

function isClassOf(value: unknown, base: abstract new () => object, hooks: readonly string[]): boolean {
  if (typeof value !== 'function') return false;
  if (value.prototype instanceof base) return true;
  // A file that imported another copy of the API still counts if it has the hooks.
  const proto = (value as { prototype?: Record<string, unknown> }).prototype;
  return proto !== undefined && hooks.every((h) => typeof proto[h] === 'function');
}

/** Loads `spec` (a built-in name or a file path, relative to `cwd`). */
export async function loadAlgorithm(spec: string, cwd = process.cwd()): Promise<AlgorithmModule> {
  if (typeof spec !== 'string' || spec.trim() === '') throw new AlgorithmLoadError(`no algorithm given (built-ins: ${builtinNames().join(', ')})`);
  const builtin = builtinAlgorithm(spec);
  if (builtin) return builtin;
  if (!looksLikePath(spec)) {
    throw new AlgorithmLoadError(`unknown algorithm '${spec}': built-ins are ${builtinNames().join(', ')}; a file is given as a path (./my-alg.ts)`);
  }
  const abs = isAbsolute(spec) ? spec : resolve(cwd, spec);
  if (!existsSync(abs) || !statSync(abs).isFile()) throw new AlgorithmLoadError(`algorithm file ${abs} does not exist`);
  let mod: Record<string, unknown>;
  try {
    await ensureTypeScriptLoader();
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (err) {
    // A .ts file outside any "type": "module" package is taken for CommonJS, which the ESM-only loader
    // cannot require; tsx's own importer compiles it either way.
    try {
      const { tsImport } = await import('tsx/esm/api');
      mod = unwrapCommonJs((await tsImport(pathToFileURL(abs).href, import.meta.url)) as Record<string, unknown>);
    } catch (again) {
      // The second attempt's error names the real problem when the first was only the CommonJS mix-up.
      const why = /require\(\)|ERR_REQUIRE/.test(firstLine(err)) ? firstLine(again) : firstLine(err);
      throw new AlgorithmLoadError(`algorithm file ${spec} failed to load: ${why}`);
    }
  }
  return checkModule(mod, spec);
}

/** A CommonJS-compiled module arrives as { default: { default: Class, … } }: take the inner exports. */
function unwrapCommonJs(mod: Record<string, unknown>): Record<string, unknown> {
  const inner = mod.default;
  if (inner !== null && typeof inner === 'object' && 'default' in inner) return inner as Record<string, unknown>;
  return mod;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

/** Checks that a loaded module has the shape of an algorithm module. */
export function checkModule(mod: Record<string, unknown>, what: string): AlgorithmModule {
  const def = mod.default;
  if (!isClassOf(def, Algorithm, ['onCreate', 'onReport'])) {
    const found = def === undefined ? 'no default export' : `a default export that is not a class (${def === null ? 'null' : typeof def})`;
    throw new AlgorithmLoadError(`${what} exports no Algorithm: expected 'export default class … extends Algorithm' (from agent/api.ts), found ${found}`);
  }
  if (mod.swarm !== undefined && !isClassOf(mod.swarm, SwarmPolicy, [])) {
    throw new AlgorithmLoadError(`${what}: 'swarm' must be a class extending SwarmPolicy`);
  }
  if (mod.programs !== undefined && (mod.programs === null || typeof mod.programs !== 'object')) {
    throw new AlgorithmLoadError(`${what}: 'programs' must be an object of name → program source`);
  }
  if (mod.describe !== undefined && typeof mod.describe !== 'string') throw new AlgorithmLoadError(`${what}: 'describe' must be a string`);
  if (mod.checkParams !== undefined && typeof mod.checkParams !== 'function') throw new AlgorithmLoadError(`${what}: 'checkParams' must be a function`);
  return mod as unknown as AlgorithmModule;
}

/** Runs the module's own check of `--set` values; errors name the algorithm. */
export function checkAlgorithmParams(mod: AlgorithmModule, params: Params, what: string): void {
  if (!mod.checkParams) return;
  try {
    mod.checkParams(params);
  } catch (err) {
    throw new AlgorithmLoadError(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
