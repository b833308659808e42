// The language reference lists every name the datapath gives programs, with its description.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATAPATH_SCHEMA } from '../../datapath/program/schema.js';
import { compile } from '../../dsl/index.js';

const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'dsl.md'), 'utf8');

describe('docs/dsl.md', () => {
  it('documents every primitive, control and the clock of the datapath schema', () => {
    const missing = [
      ...DATAPATH_SCHEMA.inputs.map((i) => `| \`${i.name}\` | ${i.type} | ${i.doc} |`),
      ...DATAPATH_SCHEMA.controls.map((c) => `| \`${c.name}\` | ${c.type} | ${c.initial} | ${c.doc} |`),
      `\`${DATAPATH_SCHEMA.clock!.name}\``,
    ].filter((row) => !doc.includes(row));
    expect(missing).toEqual([]);
  });

  it('has lisp examples that compile against the datapath schema', () => {
    const blocks = [...doc.matchAll(/```lisp\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const programs = blocks.filter((b) => b.includes('(when'));
    expect(programs.length).toBeGreaterThan(0);
    for (const p of programs) expect(compile(p, DATAPATH_SCHEMA)).toMatchObject({ ok: true });
  });
});
