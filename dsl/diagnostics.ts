// Diagnostics: what every stage reports, and how a diagnostic is printed for people.

/** A problem found in a program. Lines and columns are 1-based; the end is just past the last character. */
export interface Diagnostic {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  message: string;
  /** Stable machine-readable code, e.g. "name.unknown" (see DiagnosticCode). */
  code: string;
  hint?: string;
  /** Absent means 'error'. */
  severity?: 'error' | 'warning';
}

/** Every code a diagnostic may carry, so tools can match on them. */
export type DiagnosticCode =
  | 'lex.char' // a character no token starts with
  | 'parse.unclosed' // '(' without its ')'
  | 'parse.unexpected-rparen' // ')' without its '('
  | 'parse.syntax' // any other grammar error
  | 'syntax.form' // a list that is not a known form, or a form with a wrong shape
  | 'syntax.def' // a malformed (def ...)
  | 'syntax.arity' // an operator with the wrong number of arguments
  | 'syntax.number' // a number that is not finite
  | 'name.unknown'
  | 'name.readonly'
  | 'name.duplicate'
  | 'name.invalid'
  | 'type.mismatch'
  | 'type.condition'
  | 'limit.source'
  | 'limit.variables'
  | 'limit.clauses'
  | 'limit.statements'
  | 'limit.depth'
  | 'limit.errors' // the list of errors was cut at MAX_ERRORS
  | 'program.empty'
  | 'internal'
  | 'warn.never-reports'
  | 'warn.unreachable'
  | 'warn.repeated'
  | 'warn.unused';

/** A span of source text: 1-based start and exclusive end. */
export interface Span {
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
}

export function diag(span: Span, code: DiagnosticCode, message: string, hint?: string): Diagnostic {
  const d: Diagnostic = {
    line: span.line,
    column: span.column,
    endLine: span.endLine,
    endColumn: span.endColumn,
    message,
    code,
  };
  if (hint !== undefined) d.hint = hint;
  return d;
}

export function warning(span: Span, code: DiagnosticCode, message: string, hint?: string): Diagnostic {
  return { ...diag(span, code, message, hint), severity: 'warning' };
}

/** Orders diagnostics by position, so all stages' findings read top to bottom. */
export function byPosition(a: Diagnostic, b: Diagnostic): number {
  return a.line - b.line || a.column - b.column;
}

/**
 * "file:3:7: error: message", then (with the source) the line and a caret under the span, then the hint.
 */
export function formatDiagnostic(d: Diagnostic, source?: string, file?: string): string {
  const where = `${file ?? '<program>'}:${d.line}:${d.column}`;
  const out = [`${where}: ${d.severity ?? 'error'}: ${d.message}`];
  if (source !== undefined) {
    const lineText = source.split(/\r?\n/)[d.line - 1];
    if (lineText !== undefined) {
      const shown = lineText.replace(/\t/g, ' ');
      const start = Math.max(0, Math.min(d.column - 1, shown.length));
      const end = d.endLine === d.line ? Math.max(start + 1, Math.min(d.endColumn - 1, shown.length)) : shown.length;
      const width = Math.max(1, end - start);
      out.push(`  ${shown}`);
      out.push(`  ${' '.repeat(start)}^${'~'.repeat(width - 1)}`);
    }
  }
  if (d.hint) out.push(`  hint: ${d.hint}`);
  return out.join('\n');
}
