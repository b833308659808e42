// The program as the parser sees it: declarations, clauses, statements and expressions with their
// source spans. Names are still text here; check.ts resolves them against the schema.
import type { Span } from './diagnostics.js';
import type { ValueType } from './schema.js';

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '<' | '<=' | '>' | '>=' | '==' | '!=' | 'and' | 'or' | 'min' | 'max';
export type Op = BinaryOp | 'neg' | 'not' | 'ewma' | 'if';

export type Expr = NumberExpr | BoolExpr | RefExpr | OpExpr;
export interface NumberExpr {
  readonly kind: 'number';
  readonly value: number;
  readonly span: Span;
}
export interface BoolExpr {
  readonly kind: 'bool';
  readonly value: boolean;
  readonly span: Span;
}
export interface RefExpr {
  readonly kind: 'ref';
  readonly name: string;
  readonly span: Span;
}
/**
 * An operator applied to arguments. Binary operators that allow more than two arguments
 * (+ * and or min max) are folded left by the parser, so `args` has the arity of `op`:
 * neg/not 1, binary 2, ewma/if 3.
 */
export interface OpExpr {
  readonly kind: 'op';
  readonly op: Op;
  readonly args: readonly Expr[];
  readonly span: Span;
  /** The operator as written, for messages ("&&" rather than "and"). */
  readonly opText: string;
  readonly opSpan: Span;
}

export type Stmt = AssignStmt | ReportStmt | FallthroughStmt;
export interface AssignStmt {
  readonly kind: 'assign';
  readonly target: RefExpr;
  readonly value: Expr;
  readonly span: Span;
}
export interface ReportStmt {
  readonly kind: 'report';
  readonly span: Span;
}
export interface FallthroughStmt {
  readonly kind: 'fallthrough';
  readonly span: Span;
}

export interface VarDecl {
  readonly name: string;
  readonly initial: number;
  readonly type: ValueType;
  readonly volatile: boolean;
  readonly span: Span;
}

export interface Clause {
  readonly condition: Expr;
  readonly body: readonly Stmt[];
  readonly span: Span;
}

export interface ProgramAst {
  readonly reportVars: readonly VarDecl[];
  readonly stateVars: readonly VarDecl[];
  readonly clauses: readonly Clause[];
}
