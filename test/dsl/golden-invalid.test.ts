// Invalid programs: the exact errors, with positions (line, column, end line, end column; 1-based).
import { describe, expect, it } from 'vitest';
import { compile, formatDiagnostic, type Diagnostic } from '../../dsl/index.js';
import { DATAPATH_SCHEMA } from '../../datapath/program/schema.js';
import { TEST_SCHEMA } from './helpers.js';

type Row = [number, number, number, number, string, string];
const rows = (ds: Diagnostic[]): Row[] => ds.map((d) => [d.line, d.column, d.endLine, d.endColumn, d.code, d.message]);

function errorsOf(source: string, schema = DATAPATH_SCHEMA): Diagnostic[] {
  const r = compile(source, schema);
  if (r.ok) throw new Error('expected errors, the program compiled');
  return r.errors;
}

const CASES: [string, string, Row[]][] = [
  ['a misspelt primitive', '(when (> Flow.rate_ot 1) (report))', [[1, 10, 1, 22, 'name.unknown', "unknown name 'Flow.rate_ot'; did you mean 'Flow.rate_out'?"]]],
  ['a primitive without its unit', '(when (> Flow.rtt 1) (report))', [[1, 10, 1, 18, 'name.unknown', "unknown name 'Flow.rtt'; did you mean 'Flow.rtt_us'?"]]],
  ['a Report variable without its prefix', '(def (Report (sent 0)))\n(when true (:= sent 1) (report))', [[2, 16, 2, 20, 'name.unknown', "unknown name 'sent'; did you mean 'Report.sent'?"]]],
  ['a state variable with a Report prefix', '(def (Report) (s 0))\n(when true (:= Report.s 1) (report))', [[2, 16, 2, 24, 'name.unknown', "unknown name 'Report.s'; did you mean 's'?"]]],
  ['assigning a read-only primitive', '(when true (:= Event.sent 1) (report))', [[1, 16, 1, 26, 'name.readonly', "cannot assign 'Event.sent': it is a read-only primitive"]]],
  ['a numeric condition', '(when Flow.rate_out (report))', [[1, 7, 1, 20, 'type.condition', 'the condition of a clause must be a boolean, found a number']]],
  ['a number into a boolean control', '(when true (:= Choke 1) (report))', [[1, 22, 1, 23, 'type.mismatch', "cannot assign a number to 'Choke', which holds a boolean"]]],
  ['arithmetic on a boolean', '(def (Report (x 0)))\n(when true (:= Report.x (+ 1 Flow.snubbed)) (report))', [[2, 30, 2, 42, 'type.mismatch', "argument 2 of '+' must be a number, found a boolean"]]],
  ['comparing a number with a boolean', '(when (== 1 true) (report))', [[1, 7, 1, 18, 'type.mismatch', "'==' compares a number with a boolean"]]],
  ['if with branches of two types', '(def (Report (x 0)))\n(when true (:= Report.x (if true 1 false)) (report))', [[2, 25, 2, 42, 'type.mismatch', "the branches of 'if' differ: a number and a boolean"]]],
  ['wrong numbers of arguments', '(def (Report (x 0)))\n(when true (:= Report.x (/ 1)) (:= Report.x (ewma 1 2)) (report 1))', [
    [2, 25, 2, 30, 'syntax.arity', "'/' takes 2 arguments, found 1"],
    [2, 45, 2, 55, 'syntax.arity', "'ewma' takes 3 arguments, found 2"],
    [2, 65, 2, 66, 'syntax.arity', '(report) takes no arguments'],
  ]],
  ['an unclosed parenthesis', '(def (Report (x 0)))\n(when true (:= Report.x 1) (report)', [[2, 1, 2, 2, 'parse.unclosed', "this '(' is never closed"]]],
  ['a stray parenthesis', '(def (Report (x 0))))\n(when true (report))', [[1, 21, 1, 22, 'parse.unexpected-rparen', "unexpected ')' with no '(' to close"]]],
  ['a character the language does not have', '(when (> Micros 1$0) (report))', [
    [1, 7, 1, 21, 'syntax.arity', "'>' takes 2 arguments, found 3"],
    [1, 18, 1, 19, 'lex.char', "unexpected character '$'"],
  ]],
  ['duplicate and clashing declarations', '(def (Report (x 0) (x 1)) (y 0) (y 0) (Rate 0))\n(when true (report))', [
    [1, 20, 1, 25, 'name.duplicate', 'Report.x is declared twice (first at line 1)'],
    [1, 33, 1, 38, 'name.duplicate', "state variable 'y' is declared twice (first at line 1)"],
    [1, 39, 1, 47, 'name.duplicate', "state variable 'Rate' has the name of a control field"],
  ]],
  ['a program without clauses', '# nothing\n', [[1, 1, 1, 2, 'program.empty', 'the program has no (when ...) clause']]],
  ['several mistakes at once', '(def (Report (volatile sent 0)))\n(when tru\n  (:= Report.snt (+ sent Event.sent))\n  (:= Flow.rtt_us 3))\n(when true (report))', [
    [2, 7, 2, 10, 'name.unknown', "unknown name 'tru'; did you mean 'true'?"],
    [3, 7, 3, 17, 'name.unknown', "unknown name 'Report.snt'; did you mean 'Report.sent'?"],
    [3, 21, 3, 25, 'name.unknown', "unknown name 'sent'; did you mean 'Report.sent'?"],
    [4, 7, 4, 18, 'name.readonly', "cannot assign 'Flow.rtt_us': it is a read-only primitive"],
  ]],
  ['a bad condition does not hide errors in its clause', '(when (foo 1) (:= Rte 1) (report))', [
    [1, 8, 1, 11, 'syntax.form', "unknown operator 'foo'"],
    [1, 19, 1, 22, 'name.unknown', "unknown name 'Rte'; did you mean 'Rate'?"],
  ]],
  ['a def after the clauses', '(when true (report))\n(def (Report (x 0)))', [[2, 1, 2, 2, 'syntax.def', '(def ...) must come before the (when ...) clauses']]],
  ['bad initial values', '(def (Report (x y)) (z))\n(when true (report))', [
    [1, 17, 1, 18, 'syntax.def', "the initial value of Report.x must be a number or true/false, found 'y'"],
    [1, 21, 1, 24, 'syntax.def', "state variable 'z' needs an initial value"],
  ]],
  ['an operator used as a value', '(when (> + 1) (report))', [[1, 10, 1, 11, 'syntax.form', "'+' is an operator and must be applied: (+ a b)"]]],
  ['a nested when', '(when true (when true (report)))', [[1, 12, 1, 13, 'syntax.form', '(when ...) cannot be nested inside a clause']]],
  ['= for assignment', '(def (z 0))\n(when true (= z 1) (report))', [[2, 13, 2, 14, 'syntax.form', "unknown statement '='; did you mean ':='?"]]],
  ['= for comparison', '(when (= 1 1) (report))', [[1, 8, 1, 9, 'syntax.form', "unknown operator '='; did you mean '=='?"]]],
  ['a dotted variable name', '(def (Report (a.b 0)))\n(when true (report))', [[1, 15, 1, 18, 'name.invalid', "variable name 'a.b' may not contain '.'"]]],
  ['a volatile state variable', '(def (volatile q 0))\n(when true (report))', [[1, 6, 1, 20, 'syntax.def', 'only Report variables can be volatile']]],
  ['a number out of range', '(def (Report (x 0)))\n(when true (:= Report.x 1e999) (report))', [[2, 25, 2, 30, 'syntax.number', "number '1e999' is out of range"]]],
];

describe('invalid programs', () => {
  it.each(CASES)('%s', (_name, source, expected) => {
    expect(rows(errorsOf(source))).toEqual(expected);
  });

  it('formats an error with file, position, the line, a caret and the hint', () => {
    const src = '(def (Report (sent 0)))\n(when true (:= sent 1) (report))';
    const [d] = errorsOf(src);
    expect(formatDiagnostic(d!, src, 'p.ccp')).toBe(
      [
        "p.ccp:2:16: error: unknown name 'sent'; did you mean 'Report.sent'?",
        '  (when true (:= sent 1) (report))',
        '                 ^~~~',
        '  hint: Report variables are written with their prefix: Report.x',
      ].join('\n'),
    );
    expect(formatDiagnostic(d!)).toBe("<program>:2:16: error: unknown name 'sent'; did you mean 'Report.sent'?\n  hint: Report variables are written with their prefix: Report.x");
  });
});

describe('limits (overridden by the schema)', () => {
  const schema = { ...TEST_SCHEMA, limits: { maxVariables: 2, maxClauses: 2, maxStatements: 3, maxExprDepth: 3, maxSourceBytes: 400 } };
  const LIMIT_CASES: [string, string, Row[]][] = [
    ['variables', '(def (Report (a 0) (b 0) (c 0)))\n(when true (report))', [[1, 26, 1, 31, 'limit.variables', 'too many variables: at most 2 Report and state variables']]],
    ['clauses', '(when true (report))\n(when true (report))\n(when true (report))', [[3, 1, 3, 21, 'limit.clauses', 'too many clauses: at most 2 (when ...) clauses']]],
    ['statements', '(when true (:= Out 1) (:= Out 1) (:= Out 1) (:= Out 1) (report))', [[1, 45, 1, 55, 'limit.statements', 'too many statements: at most 3 in a program']]],
    ['expression depth', '(when true (:= Out (+ 1 (+ 1 (+ 1 (+ 1 2))))) (report))', [[1, 35, 1, 42, 'limit.depth', 'expression nested deeper than 3 levels']]],
    ['parenthesis depth', '(when (((((((((((true)))))))))) (report))', [[1, 12, 1, 13, 'limit.depth', 'parentheses nested deeper than 6 levels (expressions may nest 3 deep)']]],
    ['source size', '#'.repeat(401), [[1, 1, 1, 2, 'limit.source', 'the program is 401 bytes; the limit is 400']]],
  ];
  it.each(LIMIT_CASES)('%s', (_name, source, expected) => {
    expect(rows(errorsOf(source, schema))).toEqual(expected);
  });

  it('returns at most 100 errors and counts the rest', () => {
    const src = `(when true ${'(:= Rte (+ Flow.rate_ot 1)) '.repeat(60)}(report))`;
    const errs = errorsOf(src, DATAPATH_SCHEMA);
    expect(errs.length).toBe(101);
    expect(errs[0]!.message).toBe("unknown name 'Rte'; did you mean 'Rate'?");
    expect(errs[1]!.message).toBe("unknown name 'Flow.rate_ot'; did you mean 'Flow.rate_out'?");
    expect(rows([errs[100]!])[0]!.slice(4)).toEqual(['limit.errors', '20 more errors not shown']);
  });

  it('uses the default limits when the schema sets none', () => {
    const deep = `(when ${'(not '.repeat(70)}true${')'.repeat(70)} (report))`;
    expect(rows(errorsOf(deep, TEST_SCHEMA)).map((r) => r[4])).toEqual(['limit.depth']);
    const big = `(when true (report))\n#${'x'.repeat(64 * 1024)}`;
    expect(rows(errorsOf(big, TEST_SCHEMA)).map((r) => r[4])).toEqual(['limit.source']);
  });
});
