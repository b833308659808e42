// The generated code is built from numbers and fixed operator text only: no name or other text of
// the source reaches it, so names that mean something to JavaScript are just names.
import { describe, expect, it } from 'vitest';
import { compile, generateSource } from '../../dsl/index.js';
import { parse } from '../../dsl/parser.js';
import { check } from '../../dsl/check.js';
import { DEFAULT_LIMITS } from '../../dsl/schema.js';
import { TEST_SCHEMA, bankOf } from './helpers.js';

const SOURCE = `(def (Report (volatile constructor 0) (__proto__ 1)) (process 2) (toString 3) (eval 4))
(when (> In.a 0)
  (:= Report.constructor (+ Report.constructor process))
  (:= Report.__proto__ (* Report.__proto__ toString))
  (:= eval (- eval 1))
  (report))`;

describe('generated code', () => {
  it('contains no text from the source', () => {
    const parsed = parse(SOURCE, DEFAULT_LIMITS);
    expect(parsed.errors).toEqual([]);
    const checked = check(parsed.ast, TEST_SCHEMA, DEFAULT_LIMITS);
    expect(checked.errors).toEqual([]);
    const js = generateSource(checked.program!);
    for (const word of ['constructor', '__proto__', 'process', 'toString', 'eval', 'Report', 'In.a']) expect(js).not.toContain(word);
    // What it may contain: registers, banks, temporaries, numbers and operators.
    const identifiers = new Set(js.match(/[A-Za-z_$][A-Za-z0-9_$]*/g));
    const allowed = /^(const|let|if|return|true|false|rep|inst|regs|report|divByZero|banks|r|o|b\d+|t\d+|chain|break|Math|min|max|Infinity)$/;
    expect([...identifiers].filter((w) => !allowed.test(w))).toEqual([]);
  });

  it('runs programs whose names mean something to JavaScript', () => {
    const r = compile(SOURCE, TEST_SCHEMA);
    if (!r.ok) throw new Error(r.errors[0]!.message);
    const p = r.program;
    const inst = p.newInstance();
    p.run(inst, [bankOf({ a: 1 })]);
    expect(p.run(inst, [bankOf({ a: 1 })])).toBe(true);
    expect([...inst.report]).toEqual([2, 9]);
    expect(inst.regs[p.fieldIndex('eval')]).toBe(2);
    expect(p.fieldIndex('__proto__')).toBe(p.fieldIndex('Report.__proto__'));
    expect(p.fieldIndex('hasOwnProperty')).toBe(-1);
  });
});
