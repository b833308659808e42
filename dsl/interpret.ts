// The reference interpreter: a plain walk over the checked program, written for obviousness rather
// than speed. The generated code must agree with it on every program and every event.
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
    case 'op': {
      const a = e.args;
      const ev = (i: number): number => evaluate(a[i]!, inst, banks);
      const b = (x: boolean): number => (x ? 1 : 0);
      switch (e.op) {
        case '+': return ev(0) + ev(1);
        case '-': return ev(0) - ev(1);
        case '*': return ev(0) * ev(1);
        case 'neg': return -ev(0);
        case '/':
        case '%': {
          const x = ev(0);
          const y = ev(1);
          if (y === 0) {
            inst.divByZero++;
            return 0;
          }
          return e.op === '/' ? x / y : x % y;
        }
        case 'min': return Math.min(ev(0), ev(1));
        case 'max': return Math.max(ev(0), ev(1));
        case 'ewma': {
          const w = ev(0);
          const old = ev(1);
          const sample = ev(2);
          return w * sample + (1 - w) * old;
        }
        case '<': return b(ev(0) < ev(1));
        case '<=': return b(ev(0) <= ev(1));
        case '>': return b(ev(0) > ev(1));
        case '>=': return b(ev(0) >= ev(1));
        case '==': return b(ev(0) === ev(1));
        case '!=': return b(ev(0) !== ev(1));
        // and/or/if evaluate only what they need, as the generated code does.
        case 'and': return truth(ev(0)) ? b(truth(ev(1))) : 0;
        case 'or': return truth(ev(0)) ? 1 : b(truth(ev(1)));
        case 'not': return b(!truth(ev(0)));
        case 'if': return truth(ev(0)) ? ev(1) : ev(2);
      }
    }
  }
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
