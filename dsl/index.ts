// The language's public API: compile a program against a host's schema, run it, explain errors.
import { parse } from './parser.js';
import { check } from './check.js';
import { generate } from './codegen.js';
import { interpreter } from './interpret.js';
import { closures } from './closures.js';
import { makeProgram, type CompileMode, type Program } from './program.js';
import { byPosition, diag, type Diagnostic } from './diagnostics.js';
import { DEFAULT_LIMITS, type Limits, type Schema } from './schema.js';

export type { Diagnostic, DiagnosticCode } from './diagnostics.js';
export { formatDiagnostic } from './diagnostics.js';
export type { Program, ReportVar, StateVar, ProgramSummary, CompileMode } from './program.js';
export type { Instance } from './runtime.js';
export type { Schema, InputDecl, ControlDecl, ClockDecl, Limits, ValueType } from './schema.js';
export { DEFAULT_LIMITS } from './schema.js';
export { generateSource } from './codegen.js';

export type CompileResult =
  | { ok: true; program: Program; warnings: Diagnostic[] }
  | { ok: false; errors: Diagnostic[]; warnings?: Diagnostic[] };

export interface CompileOptions {
  /** 'generated' (default, fastest), 'closures', or 'interpreted' (the reference interpreter). */
  readonly mode?: CompileMode;
}

export function effectiveLimits(schema: Schema): Limits {
  return { ...DEFAULT_LIMITS, ...(schema.limits ?? {}) };
}

/** Compiles `source` against `schema`. Never throws: every problem comes back as a diagnostic. */
export function compile(source: string, schema: Schema, options: CompileOptions = {}): CompileResult {
  try {
    if (typeof source !== 'string') return { ok: false, errors: [diag(START, 'internal', 'the program source must be a string')] };
    const limits = effectiveLimits(schema);
    const bytes = Buffer.byteLength(source, 'utf8');
    if (bytes > limits.maxSourceBytes) {
      return { ok: false, errors: [diag(START, 'limit.source', `the program is ${bytes} bytes; the limit is ${limits.maxSourceBytes}`)] };
    }
    const parsed = parse(source, limits);
    const checked = check(parsed.ast, schema, limits, parsed.errors.length > 0);
    const errors = capped([...parsed.errors, ...checked.errors].sort(byPosition));
    const warnings = checked.warnings.sort(byPosition);
    if (errors.length > 0 || !checked.program) return { ok: false, errors, warnings };
    const mode = options.mode ?? 'generated';
    const run = mode === 'generated' ? generate(checked.program) : mode === 'closures' ? closures(checked.program) : interpreter(checked.program);
    return { ok: true, program: makeProgram(source, checked.program, run, mode), warnings };
  } catch (e) {
    // A bug of ours must not take the host down with it.
    return { ok: false, errors: [diag(START, 'internal', `internal compiler error: ${e instanceof Error ? e.message : String(e)}`)] };
  }
}

const START = { line: 1, column: 1, endLine: 1, endColumn: 2 };

/** At most this many errors are returned (the rest are counted in a last one): enough to fix a program, small enough to send. */
export const MAX_ERRORS = 100;

function capped(errors: Diagnostic[]): Diagnostic[] {
  if (errors.length <= MAX_ERRORS) return errors;
  const last = errors[MAX_ERRORS - 1]!;
  const more = errors.length - MAX_ERRORS;
  return [...errors.slice(0, MAX_ERRORS), diag({ line: last.line, column: last.column, endLine: last.endLine, endColumn: last.endColumn }, 'limit.errors', `${more} more error${more === 1 ? '' : 's'} not shown`)];
}
