// Property tests: the compiler survives any text, and generated code agrees with the reference
// interpreter on generated valid programs and random events.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compile, type CompileResult, type Program } from '../../dsl/index.js';
import { DATAPATH_SCHEMA } from '../../datapath/program/schema.js';
import { TEST_SCHEMA } from './helpers.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples', 'programs');
const exampleSources = readdirSync(EXAMPLES).filter((f) => f.endsWith('.ccp')).map((f) => readFileSync(join(EXAMPLES, f), 'utf8'));

/** Compiles and checks the result is well-formed: never an internal error, and bounded in time. */
function compilesSafely(source: string, schema = DATAPATH_SCHEMA): CompileResult {
  const start = performance.now();
  const r = compile(source, schema);
  const ms = performance.now() - start;
  expect(ms).toBeLessThan(2000);
  if (!r.ok) {
    expect(r.errors.length).toBeGreaterThan(0);
    for (const e of r.errors) {
      expect(e.code).not.toBe('internal');
      expect(e.line).toBeGreaterThanOrEqual(1);
      expect(e.column).toBeGreaterThanOrEqual(1);
      expect(typeof e.message).toBe('string');
    }
  }
  return r;
}

const TOKENS = [
  '(', ')', '(', ')', 'def', 'when', 'Report', 'volatile', ':=', 'report', 'fallthrough', 'x', 'Report.x', 's',
  '1', '-2.5', '+infinity', '0', 'true', 'false', '+', '-', '*', '/', '%', '<', '==', 'and', '||', '!', 'not',
  'min', 'max', 'ewma', 'if', 'Flow.rate_out', 'Event.tick', 'Micros', 'Rate', 'Choke', '#c\n', '\n', '$', '"', '.', '=',
  'toString', 'constructor', '__proto__', 'Report.toString', 'hasOwnProperty',
];

describe('the compiler on hostile text', () => {
  it('never crashes on random strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => void compilesSafely(s)), { numRuns: 300 });
  });

  it('never crashes on random token soup', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 120 }), (toks) => void compilesSafely(toks.join(' '))),
      { numRuns: 400 },
    );
  });

  it('never crashes on truncated or mutated valid programs', () => {
    fc.assert(
      fc.property(fc.constantFrom(...exampleSources), fc.nat(), fc.nat(), fc.constantFrom(...TOKENS), (src, cut, at, insert) => {
        compilesSafely(src.slice(0, cut % (src.length + 1)));
        const i = at % (src.length + 1);
        compilesSafely(src.slice(0, i) + insert + src.slice(i + 1));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses deep nesting quickly instead of overflowing the stack', () => {
    for (const n of [100, 1000, 30000]) {
      const r = compilesSafely(`(when ${'('.repeat(n)}true${')'.repeat(n)} (report))`);
      expect(r.ok).toBe(false);
    }
  });
});

// ---- generated valid programs over TEST_SCHEMA ----
const NUM_VARS = ['Report.r0', 'Report.r1', 's0', 'Out', 'In.a', 'In.b', 'T'];
const NUM_TARGETS = ['Report.r0', 'Report.r1', 's0', 'Out', 'T'];
const BOOL_VARS = ['Report.r2', 's1', 'On', 'In.flag'];
const BOOL_TARGETS = ['Report.r2', 's1', 'On'];
const DECL = '(def (Report (volatile r0 0) (r1 -1.5) (volatile r2 true)) (s0 2) (s1 false))';

const numLiteral = fc.oneof(
  fc.constantFrom('0', '1', '-1', '2', '0.5', '-0.25', '1e3', '+infinity', '-infinity'),
  fc.integer({ min: -1000, max: 1000 }).map(String),
);

const { num, bool } = fc.letrec<{ num: string; bool: string }>((tie) => ({
  num: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    numLiteral,
    fc.constantFrom(...NUM_VARS),
    fc.tuple(fc.constantFrom('+', '-', '*', '/', '%', 'min', 'max'), tie('num'), tie('num')).map(([op, a, b]) => `(${op} ${a} ${b})`),
    fc.tuple(tie('num'), tie('num'), tie('num')).map(([a, b, c]) => `(+ ${a} ${b} ${c})`),
    tie('num').map((a) => `(- ${a})`),
    fc.tuple(tie('num'), tie('num'), tie('num')).map(([w, o, s]) => `(ewma ${w} ${o} ${s})`),
    fc.tuple(tie('bool'), tie('num'), tie('num')).map(([c, a, b]) => `(if ${c} ${a} ${b})`),
  ),
  bool: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('true', 'false'),
    fc.constantFrom(...BOOL_VARS),
    fc.tuple(fc.constantFrom('<', '<=', '>', '>=', '==', '!='), tie('num'), tie('num')).map(([op, a, b]) => `(${op} ${a} ${b})`),
    fc.tuple(fc.constantFrom('==', '!=', 'and', 'or', '&&', '||'), tie('bool'), tie('bool')).map(([op, a, b]) => `(${op} ${a} ${b})`),
    tie('bool').map((a) => `(not ${a})`),
    tie('bool').map((a) => `(! ${a})`),
    fc.tuple(tie('bool'), tie('bool'), tie('bool')).map(([c, a, b]) => `(if ${c} ${a} ${b})`),
  ),
}));

const statement = fc.oneof(
  fc.tuple(fc.constantFrom(...NUM_TARGETS), num).map(([t, e]) => `(:= ${t} ${e})`),
  fc.tuple(fc.constantFrom(...BOOL_TARGETS), bool).map(([t, e]) => `(:= ${t} ${e})`),
  fc.constant('(report)'),
  fc.constant('(fallthrough)'),
);
const clause = fc.tuple(bool, fc.array(statement, { minLength: 1, maxLength: 5 })).map(([c, body]) => `(when ${c}\n  ${body.join('\n  ')})`);
const programText = fc.array(clause, { minLength: 1, maxLength: 4 }).map((cs) => `${DECL}\n${cs.join('\n')}`);

const inputValue = fc.oneof(
  fc.constantFrom(0, 1, -1, 0.5, 3, NaN, Infinity, -Infinity),
  fc.double(),
  fc.integer({ min: -5, max: 5 }),
);
const event = fc.tuple(inputValue, inputValue, fc.boolean(), fc.integer({ min: 0, max: 1_000_000 }));

function sameNumbers(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function build(src: string, mode: 'generated' | 'closures' | 'interpreted'): Program {
  const r = compile(src, TEST_SCHEMA, { mode });
  if (!r.ok) throw new Error(`generated program did not compile:\n${src}\n${r.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n')}`);
  return r.program;
}

describe('generated code and closures against the reference interpreter', () => {
  it('agrees on every register, report, return value and division count', () => {
    fc.assert(
      fc.property(programText, fc.array(event, { minLength: 1, maxLength: 20 }), (src, events) => {
        const fast = build(src, 'generated');
        const tree = build(src, 'closures');
        const ref = build(src, 'interpreted');
        expect([fast.mode, tree.mode, ref.mode]).toEqual(['generated', 'closures', 'interpreted']);
        const fi = fast.newInstance();
        const ci = tree.newInstance();
        const ri = ref.newInstance();
        let now = 0;
        for (const [a, b, flag, dt] of events) {
          now += dt;
          const bank = Float64Array.of(a, b, flag ? 1 : 0, now);
          const fr = fast.run(fi, [bank]);
          const cr = tree.run(ci, [Float64Array.from(bank)]);
          const rr = ref.run(ri, [Float64Array.from(bank)]);
          expect([fr, cr]).toEqual([rr, rr]);
          expect(sameNumbers(fi.regs, ri.regs)).toBe(true);
          expect(sameNumbers(ci.regs, ri.regs)).toBe(true);
          if (rr) expect(sameNumbers(fi.report, ri.report) && sameNumbers(ci.report, ri.report)).toBe(true);
          expect([fi.divByZero, ci.divByZero]).toEqual([ri.divByZero, ri.divByZero]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the generator produces programs that exercise reports and divisions', () => {
    // Guards the property above against a generator that silently stopped producing interesting programs.
    const samples = fc.sample(programText, { numRuns: 200, seed: 42 });
    const compiled = samples.map((s) => compile(s, TEST_SCHEMA));
    expect(compiled.every((r) => r.ok)).toBe(true);
    expect(samples.filter((s) => s.includes('(report)')).length).toBeGreaterThan(50);
    expect(samples.filter((s) => s.includes('(/ ') || s.includes('(% ')).length).toBeGreaterThan(20);
  });
});
