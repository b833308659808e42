// Checks, before a world starts, that each algorithm the user named loads the way the agent will load
// it (the agent's own loader: a built-in name, or a .ts/.js file exporting an Algorithm class), and
// that its --set values pass the algorithm's own check.
import { loadAlgorithm, checkAlgorithmParams } from '../agent/load-algorithm.js';
import { Params } from '../agent/params.js';
import { builtinNames } from '../algorithms/index.js';

/** Built-in algorithm names (algorithms/index.ts). */
export function builtinAlgorithms(): string[] {
  return builtinNames();
}

/** Resolves to null when `name` loads (and takes `sets`), or to a message naming the problem. `what` is the flag. */
export async function checkAlgorithm(name: string, what: string, sets: readonly string[] = [], setFlag = '--set'): Promise<string | null> {
  try {
    const mod = await loadAlgorithm(name);
    let params: Params;
    try {
      params = Params.parse(sets);
    } catch (err) {
      return `${setFlag}: ${err instanceof Error ? err.message : String(err)}`;
    }
    checkAlgorithmParams(mod, params, name);
    return null;
  } catch (err) {
    return `${what}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
}

export interface AlgorithmToCheck {
  readonly flag: string;
  readonly name: string | undefined;
  readonly sets?: readonly string[];
  readonly setFlag?: string;
}

/** Every algorithm the config names, checked; resolves to the problems found. */
export async function checkAlgorithms(list: readonly AlgorithmToCheck[]): Promise<string[]> {
  const problems: string[] = [];
  for (const a of list) {
    if (a.name === undefined) continue;
    const p = await checkAlgorithm(a.name, a.flag, a.sets, a.setFlag);
    if (p) problems.push(p);
  }
  return problems;
}
