// A third evaluator, kept for measurement: the checked program compiled to a tree of closures.
// bench/dsl.ts compares it with generated code (the default) and the interpreter; the property
// tests hold all three to the same results.
import type { CExpr, CStmt, CheckedProgram } from './ir.js';
import type { Instance, RunFn } from './runtime.js';

type NumFn = (inst: Instance, banks: readonly Float64Array[]) => number;
type BoolFn = (inst: Instance, banks: readonly Float64Array[]) => boolean;

function num(e: CExpr): NumFn {
  if (e.type === 'bool') {
    const b = bool(e);
    return (i, k) => (b(i, k) ? 1 : 0);
  }
  switch (e.k) {
    case 'const': {
      const v = e.value;
      return () => v;
    }
    case 'reg': {
      const r = e.index;
      return (i) => i.regs[r]!;
    }
    case 'input': {
      const { bank, slot } = e;
      return (_i, k) => k[bank]![slot]!;
    }
    case 'clock': {
      const { bank, slot, base } = e;
      return (i, k) => k[bank]![slot]! - i.regs[base]!;
    }
    case 'op': {
      const [x, y, z] = e.args.map((a) => (a.type === 'number' ? num(a) : undefined));
      switch (e.op) {
        case '+': return (i, k) => x!(i, k) + y!(i, k);
        case '-': return (i, k) => x!(i, k) - y!(i, k);
        case '*': return (i, k) => x!(i, k) * y!(i, k);
        case 'neg': return (i, k) => -x!(i, k);
        case 'min': return (i, k) => Math.min(x!(i, k), y!(i, k));
        case 'max': return (i, k) => Math.max(x!(i, k), y!(i, k));
        case '/':
        case '%': {
          const div = e.op === '/';
          return (i, k) => {
            const a = x!(i, k);
            const b = y!(i, k);
            if (b === 0) {
              i.divByZero++;
              return 0;
            }
            return div ? a / b : a % b;
          };
        }
        case 'ewma':
          return (i, k) => {
            const w = x!(i, k);
            const old = y!(i, k);
            const sample = z!(i, k);
            return w * sample + (1 - w) * old;
          };
        case 'if': {
          const c = bool(e.args[0]!);
          const a = num(e.args[1]!);
          const b = num(e.args[2]!);
          return (i, k) => (c(i, k) ? a(i, k) : b(i, k));
        }
        default:
          throw new Error(`closures: '${e.op}' is not numeric`);
      }
    }
  }
}

function bool(e: CExpr): BoolFn {
  if (e.type === 'number') throw new Error('closures: number where a boolean was checked');
  switch (e.k) {
    case 'const': {
      const v = e.value !== 0;
      return () => v;
    }
    case 'reg': {
      const r = e.index;
      return (i) => i.regs[r] !== 0;
    }
    case 'input': {
      const { bank, slot } = e;
      return (_i, k) => k[bank]![slot] !== 0;
    }
    case 'op': {
      const a = e.args;
      switch (e.op) {
        case '<': case '<=': case '>': case '>=': case '==': case '!=': {
          if (a[0]!.type === 'bool') {
            const x = bool(a[0]!);
            const y = bool(a[1]!);
            return e.op === '==' ? (i, k) => x(i, k) === y(i, k) : (i, k) => x(i, k) !== y(i, k);
          }
          const x = num(a[0]!);
          const y = num(a[1]!);
          switch (e.op) {
            case '<': return (i, k) => x(i, k) < y(i, k);
            case '<=': return (i, k) => x(i, k) <= y(i, k);
            case '>': return (i, k) => x(i, k) > y(i, k);
            case '>=': return (i, k) => x(i, k) >= y(i, k);
            case '==': return (i, k) => x(i, k) === y(i, k);
            default: return (i, k) => x(i, k) !== y(i, k);
          }
        }
        case 'and': {
          const x = bool(a[0]!);
          const y = bool(a[1]!);
          return (i, k) => x(i, k) && y(i, k);
        }
        case 'or': {
          const x = bool(a[0]!);
          const y = bool(a[1]!);
          return (i, k) => x(i, k) || y(i, k);
        }
        case 'not': {
          const x = bool(a[0]!);
          return (i, k) => !x(i, k);
        }
        case 'if': {
          const c = bool(a[0]!);
          const x = bool(a[1]!);
          const y = bool(a[2]!);
          return (i, k) => (c(i, k) ? x(i, k) : y(i, k));
        }
        default:
          throw new Error(`closures: '${e.op}' is not boolean`);
      }
    }
  }
}

type StmtFn = (inst: Instance, banks: readonly Float64Array[]) => void;

function stmt(s: CStmt): StmtFn {
  const v = num(s.value);
  if (s.k === 'set') {
    const r = s.index;
    return (i, k) => {
      i.regs[r] = v(i, k);
    };
  }
  const { bank, slot, base } = s;
  return (i, k) => {
    i.regs[base] = k[bank]![slot]! - v(i, k);
  };
}

export function closures(p: CheckedProgram): RunFn {
  const clauses = p.clauses.map((c) => ({ cond: bool(c.cond), body: c.body.map(stmt), report: c.report, fallthrough: c.fallthrough }));
  const clock = p.clock;
  const base = p.layout.clockBase;
  const startClock = p.readsClock && clock !== undefined;
  const reportIdx = p.layout.reportVars.map((v) => v.index);
  const resets = p.layout.reportVars.filter((v) => v.volatile).map((v) => [v.index, v.initial] as const);
  return (inst, banks) => {
    const r = inst.regs;
    if (startClock && r[base] !== r[base]) r[base] = banks[clock!.bank]![clock!.slot]!;
    let reported = false;
    for (const c of clauses) {
      if (!c.cond(inst, banks)) continue;
      for (const s of c.body) s(inst, banks);
      if (c.report) reported = true;
      if (!c.fallthrough) break;
    }
    if (!reported) return false;
    for (let j = 0; j < reportIdx.length; j++) inst.report[j] = r[reportIdx[j]!]!;
    for (const [j, v] of resets) r[j] = v;
    if (clock) r[base] = banks[clock.bank]![clock.slot]!;
    return true;
  };
}
