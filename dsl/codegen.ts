// The fast form: a JavaScript function generated from the checked program. Only numbers (literal
// values, register and slot indices) and fixed operator text are emitted — never a name or any
// other text from the source — so the generated code cannot do anything the language cannot.
import type { CClause, CExpr, CStmt, CheckedProgram } from './ir.js';
import type { RunFn } from './runtime.js';

/** A numeric literal as JavaScript source; refuses anything that is not a number. */
function lit(v: number): string {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new Error('codegen: not a number literal');
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '(-Infinity)';
  if (Object.is(v, -0)) return '(-0)';
  return v < 0 ? `(${String(v)})` : String(v);
}

function idx(i: number): string {
  if (!Number.isInteger(i) || i < 0) throw new Error('codegen: bad index');
  return String(i);
}

class Emitter {
  private temps = 0;
  readonly banks = new Set<number>();

  temp(): string {
    return `t${this.temps++}`;
  }
  tempCount(): number {
    return this.temps;
  }

  private bank(b: number): string {
    this.banks.add(b);
    return `b${idx(b)}`;
  }

  /** An expression of numeric value (booleans as 1/0). */
  num(e: CExpr): string {
    if (e.type === 'bool') return `(${this.bool(e)} ? 1 : 0)`;
    switch (e.k) {
      case 'const':
        return lit(e.value);
      case 'reg':
        return `r[${idx(e.index)}]`;
      case 'input':
        return `${this.bank(e.bank)}[${idx(e.slot)}]`;
      case 'clock':
        return `(${this.bank(e.bank)}[${idx(e.slot)}] - r[${idx(e.base)}])`;
      case 'op': {
        const a = e.args;
        switch (e.op) {
          case '+': return `(${this.num(a[0]!)} + ${this.num(a[1]!)})`;
          case '-': return `(${this.num(a[0]!)} - ${this.num(a[1]!)})`;
          case '*': return `(${this.num(a[0]!)} * ${this.num(a[1]!)})`;
          case 'neg': return `(-${this.num(a[0]!)})`;
          case 'min': return `Math.min(${this.num(a[0]!)}, ${this.num(a[1]!)})`;
          case 'max': return `Math.max(${this.num(a[0]!)}, ${this.num(a[1]!)})`;
          case '/':
          case '%': {
            // Both operands are always evaluated (as the interpreter does); a zero divisor gives 0.
            const x = this.temp();
            const y = this.temp();
            return `((${x} = ${this.num(a[0]!)}), (${y} = ${this.num(a[1]!)}), ${y} === 0 ? (inst.divByZero++, 0) : ${x} ${e.op} ${y})`;
          }
          case 'ewma': {
            const w = this.temp();
            const o = this.temp();
            const s = this.temp();
            return `((${w} = ${this.num(a[0]!)}), (${o} = ${this.num(a[1]!)}), (${s} = ${this.num(a[2]!)}), ${w} * ${s} + (1 - ${w}) * ${o})`;
          }
          case 'if':
            return `(${this.bool(a[0]!)} ? ${this.num(a[1]!)} : ${this.num(a[2]!)})`;
          default:
            throw new Error(`codegen: '${e.op}' is not numeric`);
        }
      }
    }
  }

  /** An expression of JavaScript boolean value; a stored boolean is true when non-zero. */
  bool(e: CExpr): string {
    if (e.type === 'number') throw new Error('codegen: number where a boolean was checked');
    switch (e.k) {
      case 'const':
        return e.value !== 0 ? 'true' : 'false';
      case 'reg':
        return `(r[${idx(e.index)}] !== 0)`;
      case 'input':
        return `(${this.bank(e.bank)}[${idx(e.slot)}] !== 0)`;
      case 'op': {
        const a = e.args;
        switch (e.op) {
          case '<': case '<=': case '>': case '>=':
            return `(${this.num(a[0]!)} ${e.op} ${this.num(a[1]!)})`;
          case '==': case '!=': {
            const js = e.op === '==' ? '===' : '!==';
            return a[0]!.type === 'bool' ? `(${this.bool(a[0]!)} ${js} ${this.bool(a[1]!)})` : `(${this.num(a[0]!)} ${js} ${this.num(a[1]!)})`;
          }
          case 'and': return `(${this.bool(a[0]!)} && ${this.bool(a[1]!)})`;
          case 'or': return `(${this.bool(a[0]!)} || ${this.bool(a[1]!)})`;
          case 'not': return `(!${this.bool(a[0]!)})`;
          case 'if': return `(${this.bool(a[0]!)} ? ${this.bool(a[1]!)} : ${this.bool(a[2]!)})`;
          default:
            throw new Error(`codegen: '${e.op}' is not boolean`);
        }
      }
    }
  }

  stmt(s: CStmt): string {
    const value = s.value.type === 'bool' ? `(${this.bool(s.value)} ? 1 : 0)` : this.num(s.value);
    if (s.k === 'set') return `r[${idx(s.index)}] = ${value};`;
    return `r[${idx(s.base)}] = ${this.bank(s.bank)}[${idx(s.slot)}] - ${value};`;
  }
}

/** The JavaScript source of the run function's body (exported for tests and curious readers). */
export function generateSource(p: CheckedProgram): string {
  const em = new Emitter();
  const clauses = p.clauses;
  const reports = clauses.some((c) => c.report);
  const lines: string[] = [];
  // The clause chain: a clause that does not fall through ends the chain.
  const needsLabel = clauses.some((c, i) => !c.fallthrough && i < clauses.length - 1);
  const clauseCode = (c: CClause, i: number): string => {
    const body = c.body.map((s) => '    ' + em.stmt(s));
    if (c.report) body.push('    rep = true;');
    if (!c.fallthrough && i < clauses.length - 1) body.push('    break chain;');
    return `  if (${em.bool(c.cond)}) {\n${body.join('\n')}\n  }`;
  };
  const chain = clauses.map(clauseCode);
  if (p.readsClock && p.clock) {
    // The clock starts on the first event: base is NaN until then.
    const b = `b${idx(p.clock.bank)}[${idx(p.clock.slot)}]`;
    em.banks.add(p.clock.bank);
    lines.push(`if (r[${idx(p.layout.clockBase)}] !== r[${idx(p.layout.clockBase)}]) r[${idx(p.layout.clockBase)}] = ${b};`);
  }
  if (reports) lines.push('let rep = false;');
  lines.push(needsLabel ? `chain: {\n${chain.join('\n')}\n}` : chain.join('\n'));
  if (reports) {
    lines.push('if (!rep) return false;');
    lines.push('const o = inst.report;');
    p.layout.reportVars.forEach((v, k) => lines.push(`o[${idx(k)}] = r[${idx(v.index)}];`));
    for (const v of p.layout.reportVars) if (v.volatile) lines.push(`r[${idx(v.index)}] = ${lit(v.initial)};`);
    if (p.clock) {
      em.banks.add(p.clock.bank);
      lines.push(`r[${idx(p.layout.clockBase)}] = b${idx(p.clock.bank)}[${idx(p.clock.slot)}];`);
    }
    lines.push('return true;');
  } else {
    lines.push('return false;');
  }
  const head = ['const r = inst.regs;'];
  for (const b of [...em.banks].sort((x, y) => x - y)) head.push(`const b${idx(b)} = banks[${idx(b)}];`);
  const temps = em.tempCount();
  if (temps > 0) head.push(`let ${Array.from({ length: temps }, (_, i) => `t${i} = 0`).join(', ')};`);
  return [...head, ...lines].join('\n');
}

/** Builds the run function. */
export function generate(p: CheckedProgram): RunFn {
  const body = generateSource(p);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- built from the checked program only (see above)
  return new Function('inst', 'banks', `"use strict";\n${body}`) as RunFn;
}
