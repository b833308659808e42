// How the agent hands a new Algorithm or SwarmPolicy its context: set just before `new`, taken by the
// base-class constructor. So user subclasses need no constructor arguments, and their field
// initialisers can already read `this.params` and `this.info`.

export interface PendingContext {
  readonly kind: 'algorithm' | 'swarm';
  readonly values: Readonly<Record<string, unknown>>;
}

// The slot lives on globalThis, not in this module: an algorithm file outside this package may be
// compiled as CommonJS and get its own copy of this module, and its base class must still find the context.
const SLOT = Symbol.for('ccp-bt.agent.pending-context');
type Slot = { [SLOT]?: PendingContext | null };
const slot = globalThis as Slot;

/** Runs `make` with `ctx` available to the base constructor; the slot is always cleared afterwards. */
export function constructWith<T>(ctx: PendingContext, make: () => T): T {
  slot[SLOT] = ctx;
  try {
    return make();
  } finally {
    slot[SLOT] = null;
  }
}

export function takeContext(kind: PendingContext['kind']): Readonly<Record<string, unknown>> {
  const ctx = slot[SLOT] ?? null;
  slot[SLOT] = null;
  if (ctx === null || ctx.kind !== kind) {
    throw new Error(`a ${kind === 'algorithm' ? 'Algorithm' : 'SwarmPolicy'} is created by the agent, not with 'new' in user code`);
  }
  return ctx.values;
}
