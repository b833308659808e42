// The reference interpreter: a plain walk over the checked program, written for obviousness rather
// than speed. The generated code must agree with it on every program and every event.
import type { Op } from './ast.js';
import type { CExpr, CheckedProgram } from './ir.js';
import type { Instance, RunFn } from './runtime.js';

function truth(v: number): boolean {
  return v !== 0;
}

function evaluate(e: CExpr, inst: Instance, banks: readonly Float64Array[]): number {
  const r = inst.regs;
  switch (e.k) {
    case 'const':
      return e.value;
    case 'reg':
      return e.type === 'bool' ? (truth(r[e.index]!) ? 1 : 0) : r[e.index]!;
    case 'input':
      return e.type === 'bool' ? (truth(banks[e.bank]![e.slot]!) ? 1 : 0) : banks[e.bank]![e.slot]!;
    case 'clock':
      return banks[e.bank]![e.slot]! - r[e.base]!;
    case 'op':
      return operate(e.op, e.args, inst, banks);
  }
}

function operate(op: Op, a: readonly CExpr[], inst: Instance, banks: readonly Float64Array[]): number {
  switch (op) {
    case '+': return evaluate(a[0]!, inst, banks) + evaluate(a[1]!, inst, banks);
    case '-': return evaluate(a[0]!, inst, banks) - evaluate(a[1]!, inst, banks);
    case '*': return evaluate(a[0]!, inst, banks) * evaluate(a[1]!, inst, banks);
    case 'neg': return -evaluate(a[0]!, inst, banks);
    case '/':
    case '%': {
      // Both operands are evaluated (their own divisions count), then a zero divisor gives 0.
      const x = evaluate(a[0]!, inst, banks);
      const y = evaluate(a[1]!, inst, banks);
      if (y === 0) {
        inst.divByZero++;
        return 0;
      }
      return op === '/' ? x / y : x % y;
    }
    case 'min': return Math.min(evaluate(a[0]!, inst, banks), evaluate(a[1]!, inst, banks));
    case 'max': return Math.max(evaluate(a[0]!, inst, banks), evaluate(a[1]!, inst, banks));
    case 'ewma': {
      const w = evaluate(a[0]!, inst, banks);
      const old = evaluate(a[1]!, inst, banks);
      const sample = evaluate(a[2]!, inst, banks);
      return w * sample + (1 - w) * old;
    }
    case '<': return bit(evaluate(a[0]!, inst, banks) < evaluate(a[1]!, inst, banks));
    case '<=': return bit(evaluate(a[0]!, inst, banks) <= evaluate(a[1]!, inst, banks));
    case '>': return bit(evaluate(a[0]!, inst, banks) > evaluate(a[1]!, inst, banks));
    case '>=': return bit(evaluate(a[0]!, inst, banks) >= evaluate(a[1]!, inst, banks));
    case '==': return bit(evaluate(a[0]!, inst, banks) === evaluate(a[1]!, inst, banks));
    case '!=': return bit(evaluate(a[0]!, inst, banks) !== evaluate(a[1]!, inst, banks));
    // and/or/if evaluate only what they need, as the generated code does.
    case 'and': return truth(evaluate(a[0]!, inst, banks)) ? bit(truth(evaluate(a[1]!, inst, banks))) : 0;
    case 'or': return truth(evaluate(a[0]!, inst, banks)) ? 1 : bit(truth(evaluate(a[1]!, inst, banks)));
    case 'not': return bit(!truth(evaluate(a[0]!, inst, banks)));
    case 'if': return truth(evaluate(a[0]!, inst, banks)) ? evaluate(a[1]!, inst, banks) : evaluate(a[2]!, inst, banks);
  }
}

function bit(x: boolean): number {
  return x ? 1 : 0;
}

export function interpreter(p: CheckedProgram): RunFn {
  return (inst, banks) => {
    const r = inst.regs;
    const clock = p.clock;
    if (p.readsClock && clock && Number.isNaN(r[p.layout.clockBase]!)) r[p.layout.clockBase] = banks[clock.bank]![clock.slot]!;
    let reported = false;
    for (const clause of p.clauses) {
      if (!truth(evaluate(clause.cond, inst, banks))) continue;
      for (const s of clause.body) {
        const raw = evaluate(s.value, inst, banks);
        const v = s.value.type === 'bool' ? (truth(raw) ? 1 : 0) : raw;
        if (s.k === 'set') r[s.index] = v;
        else r[s.base] = banks[s.bank]![s.slot]! - v;
      }
      if (clause.report) reported = true;
      if (!clause.fallthrough) break;
    }
    if (!reported) return false;
    p.layout.reportVars.forEach((v, k) => (inst.report[k] = r[v.index]!));
    for (const v of p.layout.reportVars) if (v.volatile) r[v.index] = v.initial;
    if (clock) r[p.layout.clockBase] = banks[clock.bank]![clock.slot]!;
    return true;
  };
}
