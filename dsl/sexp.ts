// The grammar (chevrotain, error recovery on): a program is a sequence of s-expressions. The CST is
// turned into a small tree of atoms and lists with positions; parser.ts gives the lists meaning.
import type { CstNode, IToken } from 'chevrotain';
import { CstParser, EOF } from './chevrotain.js';
import { LParen, RParen, NumberLit, Name, Operator, allTokens } from './lexer.js';
import { diag, type Diagnostic, type Span } from './diagnostics.js';

export type SExpr = SAtom | SList;
export interface SAtom {
  readonly kind: 'atom';
  readonly token: 'number' | 'name' | 'operator';
  readonly text: string;
  readonly span: Span;
}
export interface SList {
  readonly kind: 'list';
  readonly items: readonly SExpr[];
  readonly span: Span;
  /** The '(' alone, for messages about the form's head. */
  readonly open: Span;
}

class SExprParser extends CstParser {
  constructor() {
    super(allTokens, { recoveryEnabled: true, maxLookahead: 1 });
    this.performSelfAnalysis();
  }

  public program = this.RULE('program', () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.sexp) },
        // A stray ')' at top level: consumed here so the rest of the file is still parsed.
        { ALT: () => this.CONSUME(RParen, { LABEL: 'stray' }) },
      ]);
    });
  });

  public sexp = this.RULE('sexp', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.list) },
      { ALT: () => this.CONSUME(NumberLit) },
      { ALT: () => this.CONSUME(Name) },
      { ALT: () => this.CONSUME(Operator) },
    ]);
  });

  public list = this.RULE('list', () => {
    this.CONSUME(LParen);
    this.MANY(() => this.SUBRULE(this.sexp));
    this.CONSUME(RParen);
  });
}

// One parser serves every compile: building it costs milliseconds, parsing is synchronous.
const parser = new SExprParser();

export function tokenSpan(t: IToken): Span {
  const line = t.startLine ?? 1;
  const column = t.startColumn ?? 1;
  return { line, column, endLine: t.endLine ?? line, endColumn: (t.endColumn ?? column) + 1 };
}

function children(node: CstNode, key: string): (CstNode | IToken)[] {
  return (node.children[key] ?? []) as (CstNode | IToken)[];
}

function isToken(x: CstNode | IToken): x is IToken {
  return (x as IToken).image !== undefined;
}

function byOffset(a: CstNode | IToken, b: CstNode | IToken): number {
  const oa = isToken(a) ? a.startOffset : (a.location?.startOffset ?? 0);
  const ob = isToken(b) ? b.startOffset : (b.location?.startOffset ?? 0);
  return oa - ob;
}

export interface SExprResult {
  forms: SExpr[];
  errors: Diagnostic[];
}

/**
 * Parses tokens into s-expressions. Paren nesting deeper than `maxDepth` is refused before parsing
 * (recursion is bounded), every other grammar error is recovered from and reported.
 */
export function parseSExprs(tokens: IToken[], maxDepth: number): SExprResult {
  const errors: Diagnostic[] = [];
  let depth = 0;
  for (const t of tokens) {
    if (t.tokenType === LParen) {
      depth++;
      if (depth > maxDepth) {
        errors.push(
          diag(tokenSpan(t), 'limit.depth', `parentheses nested deeper than ${maxDepth} levels (expressions may nest ${maxDepth - 3} deep)`, 'simplify the expression or split it over several assignments'),
        );
        return { forms: [], errors };
      }
    } else if (t.tokenType === RParen && depth > 0) depth--;
  }

  parser.input = tokens;
  const cst = parser.program();
  const forms: SExpr[] = [];
  const visitList = (node: CstNode): SList => {
    const open = children(node, 'LParen')[0] as IToken;
    const closeTok = children(node, 'RParen')[0] as IToken | undefined;
    const items = children(node, 'sexp').map((c) => visitSexp(c as CstNode));
    const openSpan = tokenSpan(open);
    let end: Span = openSpan;
    if (closeTok && !closeTok.isInsertedInRecovery && closeTok.image !== undefined && closeTok.startLine !== undefined && !Number.isNaN(closeTok.startOffset)) {
      end = tokenSpan(closeTok);
    } else {
      const last = items[items.length - 1];
      if (last) end = last.span;
      errors.push(diag(openSpan, 'parse.unclosed', "this '(' is never closed", "add the missing ')'"));
    }
    return { kind: 'list', items, span: { line: openSpan.line, column: openSpan.column, endLine: end.endLine, endColumn: end.endColumn }, open: openSpan };
  };
  const visitSexp = (node: CstNode): SExpr => {
    const list = children(node, 'list')[0];
    if (list) return visitList(list as CstNode);
    for (const [key, kind] of [['NumberLit', 'number'], ['Name', 'name'], ['Operator', 'operator']] as const) {
      const tok = children(node, key)[0] as IToken | undefined;
      if (tok) return { kind: 'atom', token: kind, text: tok.image, span: tokenSpan(tok) };
    }
    // Only reachable when recovery produced an empty node.
    return { kind: 'atom', token: 'name', text: '', span: { line: 1, column: 1, endLine: 1, endColumn: 1 } };
  };

  const top = [...children(cst, 'sexp'), ...children(cst, 'stray')].sort(byOffset);
  for (const item of top) {
    if (isToken(item)) {
      errors.push(diag(tokenSpan(item), 'parse.unexpected-rparen', "unexpected ')' with no '(' to close", "remove it, or add the missing '(' before it"));
    } else {
      const s = visitSexp(item);
      if (s.kind === 'list' || s.text !== '') forms.push(s);
    }
  }
  for (const e of parser.errors) {
    const t = e.token;
    // A missing ')' at the end is reported as an unclosed '(' above, with the better position.
    if (t.tokenType === EOF) continue;
    errors.push(diag(tokenSpan(t), 'parse.syntax', `unexpected ${t.image === '' ? 'input' : `'${t.image}'`}`));
  }
  return { forms, errors };
}
