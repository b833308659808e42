// The built-in algorithms, by the name `--alg NAME` uses.
import type { AlgorithmModule } from '../agent/api.js';
import * as aimd from './aimd.js';
import * as fixed from './fixed.js';
import * as tft from './tft.js';
import * as tyrant from './tyrant.js';

export const BUILTIN_ALGORITHMS: Readonly<Record<string, AlgorithmModule>> = {
  fixed,
  aimd,
  tft,
  tyrant,
};

export function builtinAlgorithm(name: string): AlgorithmModule | undefined {
  return Object.hasOwn(BUILTIN_ALGORITHMS, name) ? BUILTIN_ALGORITHMS[name] : undefined;
}

export function builtinNames(): string[] {
  return Object.keys(BUILTIN_ALGORITHMS);
}
