// What a running program holds: the instance (its register file) and the shape of a run function.
import type { RegisterLayout } from './ir.js';

export interface Instance {
  /** The register file: report variables, state variables, controls, then the clock base. */
  readonly regs: Float64Array;
  /** Filled when run() returns true: the Report variables as they were at the end of the event, before the volatile reset. */
  readonly report: Float64Array;
  /** Divisions (and %) by zero so far; each yielded 0. */
  divByZero: number;
}

/** Runs one event against an instance; true when the event reported. */
export type RunFn = (inst: Instance, banks: readonly Float64Array[]) => boolean;

/**
 * A fresh register file: variables at their initial values, controls at the schema's initial.
 * The clock base starts at `clockStartUs` if given, else on the first event (the clock then reads 0).
 */
export function newInstance(layout: RegisterLayout, clockStartUs?: number): Instance {
  const regs = new Float64Array(layout.size);
  for (const v of layout.reportVars) regs[v.index] = v.initial;
  for (const v of layout.stateVars) regs[v.index] = v.initial;
  for (const v of layout.controls) regs[v.index] = v.initial;
  regs[layout.clockBase] = clockStartUs ?? NaN;
  return { regs, report: new Float64Array(layout.reportVars.length), divByZero: 0 };
}
