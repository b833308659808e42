// What a host tells the compiler about the world a program lives in. The dsl knows nothing of any
// particular host: names, types and where each value lives are given here.

export type ValueType = 'number' | 'bool';

/**
 * A read-only primitive. Its value lives in `banks[bank][slot]` of the arrays the host passes to
 * `run` (booleans as 0/1). Hosts keep these arrays current, so reading a primitive costs one load.
 */
export interface InputDecl {
  readonly name: string; // e.g. "Flow.rate_out"
  readonly type: ValueType;
  readonly bank: number;
  readonly slot: number;
  readonly doc: string;
}

/** A read/write control field held per instance; the host reads it after `run` and may set it. */
export interface ControlDecl {
  readonly name: string; // e.g. "Rate"
  readonly type: ValueType;
  readonly initial: number;
  readonly doc: string;
}

/**
 * A timer like CCP's `Micros`: its value is `banks[bank][slot] - base`, where the host keeps the
 * current time in that slot. Assigning it sets the base; `(report)` resets it to zero.
 */
export interface ClockDecl {
  readonly name: string;
  readonly bank: number;
  readonly slot: number;
  readonly doc: string;
}

export interface Limits {
  readonly maxSourceBytes: number;
  readonly maxVariables: number; // Report + state variables
  readonly maxClauses: number;
  readonly maxStatements: number;
  readonly maxExprDepth: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxSourceBytes: 64 * 1024,
  maxVariables: 64,
  maxClauses: 64,
  maxStatements: 512,
  maxExprDepth: 64,
};

export interface Schema {
  /** Names of the input banks, in the order `run` receives them (for messages and docs). */
  readonly banks: readonly string[];
  readonly inputs: readonly InputDecl[];
  readonly controls: readonly ControlDecl[];
  readonly clock?: ClockDecl;
  readonly limits?: Partial<Limits>;
}
