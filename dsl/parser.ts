// From source text to the AST: tokens (lexer.ts) → s-expressions (sexp.ts, chevrotain CST) → forms.
// Every problem is collected; a malformed part is dropped and parsing goes on with the next one.
import { tokenize } from './lexer.js';
import { parseSExprs, type SExpr, type SList, type SAtom } from './sexp.js';
import { diag, type Diagnostic, type Span } from './diagnostics.js';
import type { Clause, Expr, Op, ProgramAst, Stmt, VarDecl, RefExpr } from './ast.js';
import type { ValueType } from './schema.js';

/** Words with a fixed meaning: never variable names. */
export const RESERVED = new Set([
  'def', 'when', 'report', 'fallthrough', 'volatile', 'Report', 'true', 'false',
  'and', 'or', 'not', 'min', 'max', 'ewma', 'if',
]);

interface OpInfo {
  readonly op: Op;
  readonly min: number;
  readonly max: number; // Infinity: folded left into binary nodes
}
const OPERATOR_TABLE: Record<string, OpInfo> = {
  '+': { op: '+', min: 2, max: Infinity },
  '*': { op: '*', min: 2, max: Infinity },
  '-': { op: '-', min: 1, max: 2 },
  '/': { op: '/', min: 2, max: 2 },
  '%': { op: '%', min: 2, max: 2 },
  '<': { op: '<', min: 2, max: 2 },
  '<=': { op: '<=', min: 2, max: 2 },
  '>': { op: '>', min: 2, max: 2 },
  '>=': { op: '>=', min: 2, max: 2 },
  '==': { op: '==', min: 2, max: 2 },
  '!=': { op: '!=', min: 2, max: 2 },
  and: { op: 'and', min: 2, max: Infinity },
  '&&': { op: 'and', min: 2, max: Infinity },
  or: { op: 'or', min: 2, max: Infinity },
  '||': { op: 'or', min: 2, max: Infinity },
  not: { op: 'not', min: 1, max: 1 },
  '!': { op: 'not', min: 1, max: 1 },
  min: { op: 'min', min: 2, max: Infinity },
  max: { op: 'max', min: 2, max: Infinity },
  ewma: { op: 'ewma', min: 3, max: 3 },
  if: { op: 'if', min: 3, max: 3 },
};
// A Map, so that names like 'toString' are not found on Object.prototype.
const OPERATORS = new Map(Object.entries(OPERATOR_TABLE));
export const OPERATOR_NAMES = [...OPERATORS.keys()];

export interface ParseResult {
  ast: ProgramAst;
  errors: Diagnostic[];
}

export interface ParseLimits {
  readonly maxExprDepth: number;
}

function describe(s: SExpr): string {
  if (s.kind === 'atom') return `'${s.text}'`;
  const head = s.items[0];
  return head && head.kind === 'atom' ? `(${head.text} ...)` : 'a list';
}

function headName(s: SList): string | undefined {
  const h = s.items[0];
  return h && h.kind === 'atom' ? h.text : undefined;
}

function parseNumber(text: string): number {
  if (text === '+infinity') return Infinity;
  if (text === '-infinity') return -Infinity;
  return Number(text);
}

export function parse(source: string, limits: ParseLimits): ParseResult {
  const errors: Diagnostic[] = [];
  const lexed = tokenize(source);
  errors.push(...lexed.errors);
  // Forms sit at most three lists above an expression: (when (:= x EXPR)).
  const sx = parseSExprs(lexed.tokens, limits.maxExprDepth + 3);
  errors.push(...sx.errors);

  const reportVars: VarDecl[] = [];
  const stateVars: VarDecl[] = [];
  const clauses: Clause[] = [];
  let defSeen: Span | undefined;

  const fail = (span: Span, code: Parameters<typeof diag>[1], message: string, hint?: string): null => {
    errors.push(diag(span, code, message, hint));
    return null;
  };

  // ---- declarations ----
  const literal = (s: SExpr | undefined, where: Span, what: string): { value: number; type: ValueType } | null => {
    if (!s) return fail(where, 'syntax.def', `${what} needs an initial value`, 'write (name 0) or (name false)');
    if (s.kind === 'atom' && s.token === 'number') {
      const value = parseNumber(s.text);
      if (Number.isNaN(value) || (!Number.isFinite(value) && !/infinity$/.test(s.text))) {
        return fail(s.span, 'syntax.number', `number '${s.text}' is out of range`, 'use +infinity for an unbounded value');
      }
      return { value, type: 'number' };
    }
    if (s.kind === 'atom' && (s.text === 'true' || s.text === 'false')) return { value: s.text === 'true' ? 1 : 0, type: 'bool' };
    return fail(s.span, 'syntax.def', `the initial value of ${what} must be a number or true/false, found ${describe(s)}`);
  };

  const varName = (s: SExpr | undefined, where: Span, what: string): SAtom | null => {
    if (!s || s.kind !== 'atom' || s.token !== 'name') {
      return fail(s?.span ?? where, 'syntax.def', `expected the name of ${what}${s ? `, found ${describe(s)}` : ''}`);
    }
    if (s.text.includes('.')) {
      return fail(s.span, 'name.invalid', `variable name '${s.text}' may not contain '.'`, 'declare (x 0) and refer to it as Report.x (report variables) or x (state)');
    }
    if (RESERVED.has(s.text)) return fail(s.span, 'name.invalid', `'${s.text}' is a reserved word and cannot name a variable`);
    return s;
  };

  const reportDecl = (s: SExpr): void => {
    if (s.kind !== 'list') {
      fail(s.span, 'syntax.def', `expected a report variable like (volatile ${s.kind === 'atom' ? s.text : 'x'} 0) or (x 0), found ${describe(s)}`);
      return;
    }
    const isVolatile = headName(s) === 'volatile';
    const rest = s.items.slice(isVolatile ? 1 : 0);
    const name = varName(rest[0], s.span, 'a report variable');
    const init = name ? literal(rest[1], s.span, `Report.${name.text}`) : null;
    if (rest.length > 2) fail(rest[2]!.span, 'syntax.def', `unexpected ${describe(rest[2]!)} in the declaration of a report variable`, 'write (volatile x 0) or (x 0)');
    if (name && init) reportVars.push({ name: name.text, initial: init.value, type: init.type, volatile: isVolatile, span: s.span });
  };

  const stateDecl = (s: SExpr): void => {
    if (s.kind !== 'list') {
      fail(s.span, 'syntax.def', `expected a state variable like (${s.kind === 'atom' && s.token === 'name' ? s.text : 'x'} 0), found ${describe(s)}`);
      return;
    }
    if (headName(s) === 'volatile') {
      fail(s.span, 'syntax.def', 'only Report variables can be volatile', 'move it into (Report ...)');
      return;
    }
    const name = varName(s.items[0], s.span, 'a state variable');
    const init = name ? literal(s.items[1], s.span, `state variable '${name.text}'`) : null;
    if (s.items.length > 2) fail(s.items[2]!.span, 'syntax.def', `unexpected ${describe(s.items[2]!)} in the declaration of state variable`, 'write (x 0)');
    if (name && init) stateVars.push({ name: name.text, initial: init.value, type: init.type, volatile: false, span: s.span });
  };

  const def = (s: SList): void => {
    if (defSeen) {
      fail(s.open, 'syntax.def', `a second (def ...); the first is at line ${defSeen.line}`, 'put all declarations in one (def ...)');
      return;
    }
    defSeen = s.span;
    if (clauses.length > 0) fail(s.open, 'syntax.def', '(def ...) must come before the (when ...) clauses');
    for (const item of s.items.slice(1)) {
      if (item.kind === 'list' && headName(item) === 'Report') item.items.slice(1).forEach(reportDecl);
      else stateDecl(item);
    }
  };

  // ---- expressions ----
  let depthReported = false; // one depth error per top-level expression is enough
  const expr = (s: SExpr, depth: number): Expr | null => {
    if (s.kind === 'list' && depth > limits.maxExprDepth) {
      if (depthReported) return null;
      depthReported = true;
      return fail(s.span, 'limit.depth', `expression nested deeper than ${limits.maxExprDepth} levels`, 'split it over several assignments to state variables');
    }
    if (s.kind === 'atom') {
      if (s.token === 'number') {
        const value = parseNumber(s.text);
        if (!Number.isFinite(value) && !/infinity$/.test(s.text)) return fail(s.span, 'syntax.number', `number '${s.text}' is out of range`, 'use +infinity for an unbounded value');
        return { kind: 'number', value, span: s.span };
      }
      if (s.text === 'true' || s.text === 'false') return { kind: 'bool', value: s.text === 'true', span: s.span };
      if (s.token === 'operator' || OPERATORS.has(s.text)) {
        return fail(s.span, 'syntax.form', `'${s.text}' is an operator and must be applied: (${s.text} a b)`);
      }
      if (s.text === 'infinity') return fail(s.span, 'name.unknown', "unknown name 'infinity'", 'write +infinity');
      if (RESERVED.has(s.text)) return fail(s.span, 'syntax.form', `'${s.text}' cannot be used as a value here`);
      return { kind: 'ref', name: s.text, span: s.span };
    }
    const head = s.items[0];
    if (!head) return fail(s.span, 'syntax.form', 'empty () where an expression was expected');
    if (head.kind !== 'atom') return fail(head.span, 'syntax.form', `expected an operator after '(', found ${describe(head)}`);
    const info = OPERATORS.get(head.text);
    if (!info && head.text === '=') return fail(head.span, 'syntax.form', "unknown operator '='; did you mean '=='?", 'equality is ==, assignment is the statement (:= VAR EXPR)');
    if (!info) {
      const stmt = head.text === ':=' || head.text === 'report' || head.text === 'fallthrough';
      return fail(
        head.span,
        'syntax.form',
        stmt ? `(${head.text} ...) is a statement and cannot be used as a value` : `unknown operator '${head.text}'`,
        stmt ? undefined : 'operators: + - * / % < <= > >= == != and or not && || ! min max ewma if',
      );
    }
    const argForms = s.items.slice(1);
    if (argForms.length < info.min || argForms.length > info.max) {
      const want = info.max === Infinity ? `at least ${info.min}` : info.min === info.max ? `${info.min}` : `${info.min} or ${info.max}`;
      return fail(s.span, 'syntax.arity', `'${head.text}' takes ${want} argument${info.min === 1 && info.max === 1 ? '' : 's'}, found ${argForms.length}`);
    }
    const args = argForms.map((a) => expr(a, depth + 1));
    if (args.some((a) => a === null)) return null;
    const good = args as Expr[];
    const opSpan = head.span;
    if (info.op === '-' && good.length === 1) return { kind: 'op', op: 'neg', args: good, span: s.span, opText: head.text, opSpan };
    if (info.max === Infinity) {
      // Fold left: (+ a b c) is (+ (+ a b) c); every node keeps the whole list's span.
      let acc = good[0]!;
      for (const next of good.slice(1)) acc = { kind: 'op', op: info.op, args: [acc, next], span: s.span, opText: head.text, opSpan };
      return acc;
    }
    return { kind: 'op', op: info.op, args: good, span: s.span, opText: head.text, opSpan };
  };

  // ---- statements and clauses ----
  const stmt = (s: SExpr): Stmt | null => {
    if (s.kind !== 'list' || !s.items[0] || s.items[0].kind !== 'atom') {
      return fail(s.span, 'syntax.form', `expected a statement (:= VAR EXPR), (report) or (fallthrough), found ${describe(s)}`);
    }
    const head = s.items[0].text;
    if (head === 'report' || head === 'fallthrough') {
      if (s.items.length > 1) fail(s.items[1]!.span, 'syntax.arity', `(${head}) takes no arguments`);
      return { kind: head, span: s.span };
    }
    if (head === ':=') {
      const target = s.items[1];
      if (s.items.length !== 3) {
        return fail(s.span, 'syntax.arity', `(:= VAR EXPR) takes a variable and a value, found ${s.items.length - 1} argument${s.items.length === 2 ? '' : 's'}`);
      }
      if (!target || target.kind !== 'atom' || target.token !== 'name' || RESERVED.has(target.text)) {
        return fail(target!.span, 'syntax.form', `can only assign to a variable or control, not ${describe(target!)}`);
      }
      depthReported = false;
      const value = expr(s.items[2]!, 1);
      if (!value) return null;
      const ref: RefExpr = { kind: 'ref', name: target.text, span: target.span };
      return { kind: 'assign', target: ref, value, span: s.span };
    }
    if (head === '=' || head === 'set' || head === 'setq') {
      return fail(s.items[0].span, 'syntax.form', `unknown statement '${head}'; did you mean ':='?`, 'assignment is written (:= VAR EXPR)');
    }
    if (head === 'when') return fail(s.open, 'syntax.form', '(when ...) cannot be nested inside a clause', 'use (if c a b) in an expression, or a separate clause with (fallthrough)');
    return fail(s.items[0].span, 'syntax.form', `unknown statement '${head}'`, 'statements are (:= VAR EXPR), (report) and (fallthrough)');
  };

  const when = (s: SList): void => {
    const cond = s.items[1];
    if (!cond) {
      fail(s.span, 'syntax.form', '(when ...) needs a condition', 'write (when CONDITION STATEMENT...)');
      return;
    }
    depthReported = false;
    const condition = expr(cond, 1);
    const body = s.items.slice(2).map(stmt).filter((x): x is Stmt => x !== null);
    // A clause whose condition failed is kept with `false` so its body is still checked for errors.
    clauses.push({ condition: condition ?? { kind: 'bool', value: false, span: cond.span }, body, span: s.span });
  };

  for (const form of sx.forms) {
    const head = form.kind === 'list' ? headName(form) : undefined;
    if (form.kind === 'list' && head === 'def') def(form);
    else if (form.kind === 'list' && head === 'when') when(form);
    else fail(form.kind === 'list' ? form.open : form.span, 'syntax.form', `expected (def ...) or (when ...) at the top level, found ${describe(form)}`);
  }

  return { ast: { reportVars, stateVars, clauses }, errors };
}
