// chevrotain, from the single-file bundle scripts/bundle-chevrotain.mjs makes at install time when it is
// there (~30 ms to load instead of ~1 s), else from the package. Types always come from the package.
import type * as Chevrotain from 'chevrotain';

async function load(): Promise<typeof Chevrotain> {
  try {
    // @ts-ignore -- a generated file without type declarations; typed by the cast.
    return (await import('../node_modules/.cache/ccp-bt/chevrotain.mjs')) as typeof Chevrotain;
  } catch {
    return await import('chevrotain');
  }
}

const chevrotain = await load();
export const { createToken, Lexer, CstParser, EOF } = chevrotain;
