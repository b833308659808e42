// The checked program: every name resolved to a register or an input slot, every type known. This
// is all the code generator and the interpreter see — no source text reaches them.
import type { Op } from './ast.js';
import type { ValueType } from './schema.js';

export type CExpr =
  | { readonly k: 'const'; readonly value: number; readonly type: ValueType }
  /** A register of the instance (report/state variable or control). */
  | { readonly k: 'reg'; readonly index: number; readonly type: ValueType }
  /** A read-only primitive: banks[bank][slot]. */
  | { readonly k: 'input'; readonly bank: number; readonly slot: number; readonly type: ValueType }
  /** The clock: banks[bank][slot] - regs[base]. */
  | { readonly k: 'clock'; readonly bank: number; readonly slot: number; readonly base: number; readonly type: 'number' }
  | { readonly k: 'op'; readonly op: Op; readonly args: readonly CExpr[]; readonly type: ValueType };

export type CStmt =
  | { readonly k: 'set'; readonly index: number; readonly value: CExpr }
  /** Micros := v sets the base so that the clock reads v now. */
  | { readonly k: 'setClock'; readonly bank: number; readonly slot: number; readonly base: number; readonly value: CExpr };

export interface CClause {
  readonly cond: CExpr;
  readonly body: readonly CStmt[];
  /** Statements have no control flow, so whether a clause reports or falls through is known statically. */
  readonly report: boolean;
  readonly fallthrough: boolean;
}

export interface VarInfo {
  readonly name: string;
  readonly type: ValueType;
  readonly initial: number;
  readonly index: number;
}

export interface ReportVarInfo extends VarInfo {
  readonly volatile: boolean;
}

export interface RegisterLayout {
  /** regs[0 .. reportVars.length) */
  readonly reportVars: readonly ReportVarInfo[];
  readonly stateVars: readonly VarInfo[];
  readonly controls: readonly VarInfo[];
  /** Register holding the clock base; NaN until the first event (the clock then starts at 0). */
  readonly clockBase: number;
  readonly size: number;
}

export interface CheckedProgram {
  readonly layout: RegisterLayout;
  readonly clauses: readonly CClause[];
  /** Where the clock lives, if the schema has one. */
  readonly clock?: { readonly name: string; readonly bank: number; readonly slot: number };
  /** The program reads the clock (so the base must be started on the first event). */
  readonly readsClock: boolean;
  /** For summaries: controls assigned, inputs read. */
  readonly controlsSet: readonly string[];
  readonly inputsRead: readonly string[];
}
