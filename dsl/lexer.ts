// Tokens of the language: parentheses, numbers, names and operator symbols; `#` comments run to the
// end of the line. The grammar above it is plain s-expressions; forms are recognised in parser.ts.
import type { IToken, TokenType } from 'chevrotain';
import { createToken, Lexer } from './chevrotain.js';
import { diag, type Diagnostic } from './diagnostics.js';

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n\f\v]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: 'Comment', pattern: /#[^\n]*/, group: Lexer.SKIPPED });
export const LParen = createToken({ name: 'LParen', pattern: /\(/, label: "'('" });
export const RParen = createToken({ name: 'RParen', pattern: /\)/, label: "')'" });
/** Integers and decimals, optionally negative, with an optional exponent; also +infinity / -infinity. */
export const NumberLit = createToken({
  name: 'NumberLit',
  pattern: /[+-]infinity|-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/,
  label: 'number',
});
/** Names: identifiers joined by dots, e.g. `Flow.rate_out`, `Report.sent`, `when`. */
export const Name = createToken({
  name: 'Name',
  pattern: /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/,
  label: 'name',
});
export const Operator = createToken({
  name: 'Operator',
  pattern: /:=|<=|>=|==|!=|&&|\|\||[-+*/%<>!=]/,
  label: 'operator',
});

export const allTokens: TokenType[] = [WhiteSpace, Comment, LParen, RParen, NumberLit, Name, Operator];

const lexer = new Lexer(allTokens, { positionTracking: 'full', ensureOptimizations: false });

export interface LexResult {
  tokens: IToken[];
  errors: Diagnostic[];
}

export function tokenize(source: string): LexResult {
  const result = lexer.tokenize(source);
  const errors = result.errors.map((e) => {
    const text = source.slice(e.offset, e.offset + e.length);
    const line = e.line ?? 1;
    const column = e.column ?? 1;
    const shown = text.length > 20 ? `${text.slice(0, 20)}…` : text;
    return diag(
      { line, column, endLine: line, endColumn: column + Math.max(1, Math.min(e.length, 40)) },
      'lex.char',
      `unexpected character${e.length > 1 ? 's' : ''} '${shown}'`,
      'names are letters, digits, _ and dots; operators are + - * / % < <= > >= == != && || ! :=',
    );
  });
  return { tokens: result.tokens, errors };
}
