// How the agent hands a new Algorithm or SwarmPolicy its context: set just before `new`, taken by the
// base-class constructor. So user subclasses need no constructor arguments, and their field
// initialisers can already read `this.params` and `this.info`.

export interface PendingContext {
  readonly kind: 'algorithm' | 'swarm';
  readonly values: Readonly<Record<string, unknown>>;
}

let pending: PendingContext | null = null;

/** Runs `make` with `ctx` available to the base constructor; the slot is always cleared afterwards. */
export function constructWith<T>(ctx: PendingContext, make: () => T): T {
  pending = ctx;
  try {
    return make();
  } finally {
    pending = null;
  }
}

export function takeContext(kind: PendingContext['kind']): Readonly<Record<string, unknown>> {
  const ctx = pending;
  pending = null;
  if (ctx === null || ctx.kind !== kind) {
    throw new Error(`a ${kind === 'algorithm' ? 'Algorithm' : 'SwarmPolicy'} is created by the agent, not with 'new' in user code`);
  }
  return ctx.values;
}
