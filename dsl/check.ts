// Names, types, read-only fields and limits: turns the parsed AST into the checked program, or
// reports every problem it finds (with "did you mean" suggestions for unknown names).
import type { Clause, Expr, ProgramAst, RefExpr, VarDecl } from './ast.js';
import type { CClause, CExpr, CStmt, CheckedProgram, ReportVarInfo, VarInfo } from './ir.js';
import { diag, warning, type Diagnostic, type DiagnosticCode, type Span } from './diagnostics.js';
import type { Limits, Schema, ValueType } from './schema.js';
import { suggest } from './suggest.js';

type Binding =
  | { kind: 'report'; info: ReportVarInfo }
  | { kind: 'state'; info: VarInfo }
  | { kind: 'control'; info: VarInfo }
  | { kind: 'input'; name: string; bank: number; slot: number; type: ValueType }
  | { kind: 'clock'; name: string; bank: number; slot: number };

type Typed = CExpr | null; // null: an error was already reported below

export interface CheckResult {
  program?: CheckedProgram;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

const TYPE_WORD: Record<ValueType, string> = { number: 'a number', bool: 'a boolean' };
const START: Span = { line: 1, column: 1, endLine: 1, endColumn: 2 };

/** `parseFailed`: the parser already reported errors (so an empty program is no news). */
export function check(ast: ProgramAst, schema: Schema, limits: Limits, parseFailed = false): CheckResult {
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const err = (span: Span, code: DiagnosticCode, message: string, hint?: string): null => {
    errors.push(diag(span, code, message, hint));
    return null;
  };

  // ---- the register layout and the name table ----
  const names = new Map<string, Binding>();
  const declSpan = new Map<string, Span>();
  const used = new Set<string>();
  for (const input of schema.inputs) names.set(input.name, { kind: 'input', name: input.name, bank: input.bank, slot: input.slot, type: input.type });
  if (schema.clock) names.set(schema.clock.name, { kind: 'clock', ...schema.clock });

  const reportVars: ReportVarInfo[] = [];
  const stateVars: VarInfo[] = [];
  const controls: VarInfo[] = [];
  let next = 0;
  const declare = (d: VarDecl, key: string, shown: string): number | undefined => {
    const prior = declSpan.get(key);
    if (prior) {
      err(d.span, 'name.duplicate', `${shown} is declared twice (first at line ${prior.line})`);
      return undefined;
    }
    if (reportVars.length + stateVars.length >= limits.maxVariables) {
      err(d.span, 'limit.variables', `too many variables: at most ${limits.maxVariables} Report and state variables`);
      return undefined;
    }
    declSpan.set(key, d.span);
    return next++;
  };
  for (const d of ast.reportVars) {
    const index = declare(d, `Report.${d.name}`, `Report.${d.name}`);
    if (index === undefined) continue;
    const info: ReportVarInfo = { name: d.name, type: d.type, initial: d.initial, index, volatile: d.volatile };
    reportVars.push(info);
    names.set(`Report.${d.name}`, { kind: 'report', info });
  }
  for (const d of ast.stateVars) {
    const clash = schema.controls.some((c) => c.name === d.name) ? 'control field' : schema.clock?.name === d.name ? 'clock' : undefined;
    if (clash) {
      err(d.span, 'name.duplicate', `state variable '${d.name}' has the name of a ${clash}`, 'choose another name');
      continue;
    }
    const index = declare(d, d.name, `state variable '${d.name}'`);
    if (index === undefined) continue;
    const info: VarInfo = { name: d.name, type: d.type, initial: d.initial, index };
    stateVars.push(info);
    names.set(d.name, { kind: 'state', info });
  }
  for (const c of schema.controls) {
    const info: VarInfo = { name: c.name, type: c.type, initial: c.initial, index: next++ };
    controls.push(info);
    names.set(c.name, { kind: 'control', info });
  }
  const clockBase = next++;
  const allNames = [...names.keys()];
  const assignableNames = allNames.filter((n) => {
    const b = names.get(n)!;
    return b.kind !== 'input';
  });

  // ---- names ----
  // The same misspelling tends to repeat: work out its message once.
  const explained = new Map<string, { message: string; hint: string | undefined }>();
  const unknown = (ref: RefExpr, candidates: readonly string[], forAssign: boolean): null => {
    const key = `${forAssign ? '=' : ''}${ref.name}`;
    let known = explained.get(key);
    if (!known) {
      known = explainUnknown(ref.name, candidates, forAssign);
      explained.set(key, known);
    }
    return err(ref.span, 'name.unknown', known.message, known.hint);
  };
  const explainUnknown = (name: string, candidates: readonly string[], forAssign: boolean): { message: string; hint: string | undefined } => {
    let guess: string | undefined;
    let hint: string | undefined;
    if (names.has(`Report.${name}`)) {
      guess = `Report.${name}`;
      hint = 'Report variables are written with their prefix: Report.x';
    } else if (name.startsWith('Report.') && names.get(name.slice(7))?.kind === 'state') {
      guess = name.slice(7);
      hint = 'state variables are written without a prefix';
    } else {
      guess = suggest(name, candidates);
      if (!guess) {
        const dot = name.indexOf('.');
        const group = dot > 0 ? name.slice(0, dot + 1) : undefined;
        const inGroup = group ? allNames.filter((n) => n.startsWith(group)) : [];
        if (inGroup.length > 0) hint = `known ${group}* names: ${inGroup.map((n) => n.slice(group!.length)).join(', ')}`;
        else if (!name.includes('.')) hint = forAssign ? `declare it in (def ... (${name} 0))` : `declare it: (def (Report (${name} 0))) or (def (Report) (${name} 0))`;
      }
    }
    return { message: `unknown name '${name}'${guess ? `; did you mean '${guess}'?` : ''}`, hint };
  };

  const clock = schema.clock;
  let readsClock = false;
  const inputsRead = new Set<string>();
  const controlsSet = new Set<string>();

  const reference = (ref: RefExpr): Typed => {
    const b = names.get(ref.name);
    if (!b) return unknown(ref, [...allNames, 'true', 'false'], false);
    used.add(ref.name);
    switch (b.kind) {
      case 'report':
      case 'state':
      case 'control':
        return { k: 'reg', index: b.info.index, type: b.info.type };
      case 'input':
        inputsRead.add(b.name);
        return { k: 'input', bank: b.bank, slot: b.slot, type: b.type };
      case 'clock':
        readsClock = true;
        return { k: 'clock', bank: b.bank, slot: b.slot, base: clockBase, type: 'number' };
    }
  };

  // ---- types ----
  const want = (e: Typed, type: ValueType, at: Expr, what: string, hint?: string): boolean => {
    if (!e) return false;
    if (e.type === type) return true;
    err(at.span, 'type.mismatch', `${what} must be ${TYPE_WORD[type]}, found ${TYPE_WORD[e.type]}`, hint);
    return false;
  };
  const NUM_HINT = 'turn a boolean into a number with (if c 1 0)';
  const BOOL_HINT = 'compare a number to get a boolean, e.g. (> x 0)';

  const expr = (e: Expr): Typed => {
    switch (e.kind) {
      case 'number':
        return { k: 'const', value: e.value, type: 'number' };
      case 'bool':
        return { k: 'const', value: e.value ? 1 : 0, type: 'bool' };
      case 'ref':
        return reference(e);
      case 'op': {
        const args = e.args.map(expr);
        const op = e.op;
        const argWord = (i: number): string => (e.args.length === 1 ? `the argument of '${e.opText}'` : `argument ${i + 1} of '${e.opText}'`);
        let ok = args.every((a) => a !== null);
        let type: ValueType = 'number';
        switch (op) {
          case '+': case '-': case '*': case '/': case '%': case 'neg': case 'min': case 'max': case 'ewma':
            args.forEach((a, i) => (ok = want(a, 'number', e.args[i]!, argWord(i), NUM_HINT) && ok));
            break;
          case '<': case '<=': case '>': case '>=':
            args.forEach((a, i) => (ok = want(a, 'number', e.args[i]!, argWord(i), NUM_HINT) && ok));
            type = 'bool';
            break;
          case '==': case '!=':
            if (ok && args[0]!.type !== args[1]!.type) {
              err(e.span, 'type.mismatch', `'${e.opText}' compares ${TYPE_WORD[args[0]!.type]} with ${TYPE_WORD[args[1]!.type]}`, 'both sides must have the same type');
              ok = false;
            }
            type = 'bool';
            break;
          case 'and': case 'or': case 'not':
            args.forEach((a, i) => (ok = want(a, 'bool', e.args[i]!, argWord(i), BOOL_HINT) && ok));
            type = 'bool';
            break;
          case 'if':
            ok = want(args[0]!, 'bool', e.args[0]!, "the condition of 'if'", BOOL_HINT) && ok;
            if (args[1] && args[2] && args[1].type !== args[2].type) {
              err(e.span, 'type.mismatch', `the branches of 'if' differ: ${TYPE_WORD[args[1].type]} and ${TYPE_WORD[args[2].type]}`, 'both branches must have the same type');
              ok = false;
            }
            type = args[1]?.type ?? 'number';
            break;
        }
        return ok ? { k: 'op', op, args: args as CExpr[], type } : null;
      }
    }
  };

  // ---- statements and clauses ----
  let statements = 0;
  const clauses: CClause[] = [];
  let alwaysStops: Clause | undefined; // a (when true ...) without fallthrough: later clauses never run
  let warnedDead = false;
  let anyReport = false;
  ast.clauses.forEach((clause, i) => {
    if (i === limits.maxClauses) err(clause.span, 'limit.clauses', `too many clauses: at most ${limits.maxClauses} (when ...) clauses`);
    if (alwaysStops && !warnedDead) {
      warnings.push(warning(clause.span, 'warn.unreachable', `this clause never runs: the clause at line ${alwaysStops.span.line} always matches and does not fall through`, 'add (fallthrough) to that clause'));
      warnedDead = true;
    }
    const cond = expr(clause.condition);
    if (cond && cond.type !== 'bool') {
      err(clause.condition.span, 'type.condition', `the condition of a clause must be a boolean, found ${TYPE_WORD[cond.type]}`, BOOL_HINT);
    }
    const body: CStmt[] = [];
    let report: Span | undefined;
    let fallthrough: Span | undefined;
    for (const s of clause.body) {
      statements++;
      if (statements === limits.maxStatements + 1) err(s.span, 'limit.statements', `too many statements: at most ${limits.maxStatements} in a program`);
      if (s.kind === 'report' || s.kind === 'fallthrough') {
        const prior = s.kind === 'report' ? report : fallthrough;
        if (prior) warnings.push(warning(s.span, 'warn.repeated', `(${s.kind}) appears twice in this clause (first at line ${prior.line}); once is enough`));
        if (s.kind === 'report') report = s.span;
        else fallthrough = s.span;
        continue;
      }
      const value = expr(s.value);
      const b = names.get(s.target.name);
      if (!b) {
        unknown(s.target, assignableNames, true);
        continue;
      }
      used.add(s.target.name);
      if (b.kind === 'input') {
        err(s.target.span, 'name.readonly', `cannot assign '${s.target.name}': it is a read-only primitive`, 'keep a copy in a state variable if you need to change it');
        continue;
      }
      const targetType: ValueType = b.kind === 'clock' ? 'number' : b.info.type;
      if (value && value.type !== targetType) {
        err(s.value.span, 'type.mismatch', `cannot assign ${TYPE_WORD[value.type]} to '${s.target.name}', which holds ${TYPE_WORD[targetType]}`, targetType === 'number' ? NUM_HINT : BOOL_HINT);
        continue;
      }
      if (!value) continue;
      if (b.kind === 'clock') body.push({ k: 'setClock', bank: b.bank, slot: b.slot, base: clockBase, value });
      else {
        if (b.kind === 'control') controlsSet.add(b.info.name);
        body.push({ k: 'set', index: b.info.index, value });
      }
    }
    if (report) anyReport = true;
    if (cond && cond.type === 'bool') clauses.push({ cond, body, report: report !== undefined, fallthrough: fallthrough !== undefined });
    if (!alwaysStops && !fallthrough && clause.condition.kind === 'bool' && clause.condition.value) alwaysStops = clause;
  });

  if (ast.clauses.length === 0) {
    if (!parseFailed) err(START, 'program.empty', 'the program has no (when ...) clause', 'add one, e.g. (when true (report))');
  } else if (!anyReport) warnings.push(warning(START, 'warn.never-reports', 'no clause contains (report): the agent will never hear from this program'));
  for (const [key, span] of declSpan) {
    if (!used.has(key)) warnings.push(warning(span, 'warn.unused', `${key.startsWith('Report.') ? key : `state variable '${key}'`} is declared but never used`));
  }

  if (errors.length > 0) return { errors, warnings };
  return {
    errors,
    warnings,
    program: {
      layout: { reportVars, stateVars, controls, clockBase, size: next },
      clauses,
      ...(clock ? { clock: { name: clock.name, bank: clock.bank, slot: clock.slot } } : {}),
      readsClock,
      controlsSet: [...controlsSet],
      inputsRead: [...inputsRead],
    },
  };
}
