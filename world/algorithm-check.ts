// Checks, before a world starts, that each algorithm the user named can be loaded: a built-in name
// from algorithms/, or a .ts/.js file that imports cleanly and exports an algorithm class.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ALGORITHMS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'algorithms');

/** A name is a file when it looks like a path; otherwise it is a built-in algorithm's name. */
export function isAlgorithmFile(name: string): boolean {
  return name.includes('/') || name.includes('\\') || /\.(c|m)?(t|j)s$/.test(name);
}

/** Built-in algorithm names, from algorithms/index.ts (the agent's own registry). */
export async function builtinAlgorithmNames(): Promise<string[]> {
  try {
    const mod = (await import('../algorithms/index.js')) as { builtinNames?: () => string[] };
    if (typeof mod.builtinNames === 'function') return mod.builtinNames().sort();
  } catch {
    // fall back to the folder listing below
  }
  return builtinAlgorithms();
}

/** Built-in algorithm names by folder listing: one module per algorithm in algorithms/ (index and helpers excluded). */
export function builtinAlgorithms(): string[] {
  if (!existsSync(ALGORITHMS_DIR)) return [];
  return readdirSync(ALGORITHMS_DIR)
    .filter((f) => /^[a-z0-9][a-z0-9_-]*\.ts$/i.test(f) && !/^(index|util|utils|common|shared|registry)\.ts$/.test(f))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
}

function exportsAlgorithm(mod: Record<string, unknown>): boolean {
  const candidate = mod.default ?? mod.Algorithm ?? mod.algorithm;
  return typeof candidate === 'function';
}

/** Resolves to null when `name` loads, or to a message naming the problem. `what` is the flag. */
export async function checkAlgorithm(name: string, what: string): Promise<string | null> {
  if (isAlgorithmFile(name)) {
    const abs = resolve(name);
    if (!existsSync(abs)) return `${what}: algorithm file ${name} does not exist`;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
    } catch (err) {
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      return `${what}: algorithm file ${name} does not load: ${msg}`;
    }
    if (!exportsAlgorithm(mod)) return `${what}: algorithm file ${name} loads but exports no algorithm class (export default class … extends Algorithm)`;
    return null;
  }
  const known = await builtinAlgorithmNames();
  if (!known.includes(name)) {
    return `${what}: unknown algorithm '${name}' (built-in: ${known.length ? known.join(', ') : 'none installed yet'}; or give a path to a .ts file)`;
  }
  return null;
}

/** Every distinct algorithm the config names, checked; resolves to the problems found. */
export async function checkAlgorithms(names: readonly (readonly [string, string | undefined])[]): Promise<string[]> {
  const problems: string[] = [];
  for (const [what, name] of names) {
    if (name === undefined) continue;
    const p = await checkAlgorithm(name, what);
    if (p) problems.push(p);
  }
  return problems;
}
