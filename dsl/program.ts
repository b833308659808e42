// A compiled program as hosts see it: metadata, fresh instances, the run function and field lookup.
// Many flows share one Program; each gets its own Instance.
import type { CheckedProgram } from './ir.js';
import { newInstance, type Instance, type RunFn } from './runtime.js';
import type { ValueType } from './schema.js';

export interface ReportVar {
  name: string; // without "Report."
  volatile: boolean;
  type: ValueType;
  initial: number;
}

export interface StateVar {
  name: string;
  type: ValueType;
  initial: number;
}

/** What a program declares and does, for `ccp-bt check` and for tools. */
export interface ProgramSummary {
  readonly reportVars: readonly ReportVar[];
  readonly stateVars: readonly StateVar[];
  readonly clauses: number;
  /** 1-based numbers of the clauses that contain (report). */
  readonly reportingClauses: readonly number[];
  /** Control fields the program assigns. */
  readonly controlsSet: readonly string[];
  /** Read-only primitives the program reads. */
  readonly inputsRead: readonly string[];
  readonly readsClock: boolean;
}

export interface Program {
  readonly source: string;
  readonly reportVars: readonly ReportVar[]; // declaration order = report order
  readonly stateVars: readonly StateVar[];
  readonly controls: readonly string[]; // schema control names
  readonly summary: ProgramSummary;
  /** Which evaluator runs it (see CompileMode). */
  readonly mode: CompileMode;
  /**
   * A fresh register file: initial values, controls at the schema's initial. The clock starts at
   * `clockStartUs` if given, else at the first event (Micros then reads 0 on that event).
   */
  newInstance(clockStartUs?: number): Instance;
  /** Run one event. `banks[i]` is the host's input bank i (Schema.banks order). Returns true if (report) ran. */
  run(inst: Instance, banks: readonly Float64Array[]): boolean;
  /** Index of a control field or program variable in inst.regs, or -1. Accepts "Rate", "Report.x", "x" (a state variable, else a Report variable). */
  fieldIndex(name: string): number;
}

/** 'generated': JavaScript built from the checked program (the fastest, the default); 'closures': a tree of closures; 'interpreted': the reference interpreter. */
export type CompileMode = 'generated' | 'closures' | 'interpreted';

export function makeProgram(source: string, checked: CheckedProgram, run: RunFn, mode: CompileMode): Program {
  const layout = checked.layout;
  const reportVars: ReportVar[] = layout.reportVars.map((v) => ({ name: v.name, volatile: v.volatile, type: v.type, initial: v.initial }));
  const stateVars: StateVar[] = layout.stateVars.map((v) => ({ name: v.name, type: v.type, initial: v.initial }));
  const fields = new Map<string, number>();
  for (const v of layout.reportVars) fields.set(v.name, v.index); // bare name: only if no state variable has it
  for (const v of layout.stateVars) fields.set(v.name, v.index);
  for (const v of layout.reportVars) fields.set(`Report.${v.name}`, v.index);
  for (const c of layout.controls) fields.set(c.name, c.index);
  const summary: ProgramSummary = {
    reportVars,
    stateVars,
    clauses: checked.clauses.length,
    reportingClauses: checked.clauses.flatMap((c, i) => (c.report ? [i + 1] : [])),
    controlsSet: checked.controlsSet,
    inputsRead: checked.inputsRead,
    readsClock: checked.readsClock,
  };
  return {
    source,
    reportVars,
    stateVars,
    controls: layout.controls.map((c) => c.name),
    summary,
    mode,
    newInstance: (clockStartUs?: number) => newInstance(layout, clockStartUs),
    run,
    fieldIndex: (name: string) => fields.get(name) ?? -1,
  };
}
