// `ccp-bt check FILE [--json]`: compile a datapath program against the datapath's schema and print
// its errors (exit 1) or a short summary of what it declares, reports and sets (exit 0).
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { compile, formatDiagnostic, type Diagnostic, type ProgramSummary } from '../../dsl/index.js';
import { DATAPATH_SCHEMA } from '../../datapath/program/schema.js';

export interface CheckOutcome {
  readonly ok: boolean;
  readonly file: string;
  readonly errors: readonly Diagnostic[];
  readonly warnings: readonly Diagnostic[];
  readonly summary?: ProgramSummary;
}

/** Compiles a source text as `check` does (exported for tools and tests). */
export function checkSource(source: string, file: string): CheckOutcome {
  const r = compile(source, DATAPATH_SCHEMA);
  if (r.ok) return { ok: true, file, errors: [], warnings: r.warnings, summary: r.program.summary };
  return { ok: false, file, errors: r.errors, warnings: r.warnings ?? [] };
}

function value(v: { type: string; initial: number }): string {
  return v.type === 'bool' ? (v.initial !== 0 ? 'true' : 'false') : String(v.initial);
}

export function formatSummary(s: ProgramSummary, file: string): string {
  const lines = [`${file}: ok`];
  const rv = s.reportVars.map((v) => `${v.volatile ? 'volatile ' : ''}${v.name} = ${value(v)}`);
  lines.push(`  reports:        ${rv.length > 0 ? rv.join(', ') : '(nothing)'}`);
  lines.push(`  state:          ${s.stateVars.length > 0 ? s.stateVars.map((v) => `${v.name} = ${value(v)}`).join(', ') : '(none)'}`);
  const reporting = s.reportingClauses.length > 0 ? `; (report) in clause ${s.reportingClauses.join(', ')}` : '; never reports';
  lines.push(`  clauses:        ${s.clauses}${reporting}`);
  lines.push(`  sets controls:  ${s.controlsSet.length > 0 ? s.controlsSet.join(', ') : '(none)'}`);
  const reads = [...s.inputsRead, ...(s.readsClock ? ['Micros'] : [])];
  lines.push(`  reads:          ${reads.length > 0 ? reads.join(', ') : '(nothing)'}`);
  return lines.join('\n');
}

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description("compile a datapath program against the datapath's schema; print its errors or a summary")
    .argument('<file>', 'program source (.ccp)')
    .option('--json', 'print the result as JSON (for tools)')
    .action(async (file: string, opts: { json?: boolean }) => {
      let source: string;
      try {
        source = await readFile(file, 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : e instanceof Error ? e.message : String(e);
        if (opts.json) process.stdout.write(`${JSON.stringify({ ok: false, file, error: `cannot read ${file}: ${reason}` })}\n`);
        else process.stderr.write(`ccp-bt check: cannot read ${file}: ${reason}\n`);
        process.exitCode = 1;
        return;
      }
      const out = checkSource(source, file);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      } else {
        for (const d of [...out.errors, ...out.warnings]) process.stderr.write(`${formatDiagnostic(d, source, file)}\n`);
        if (out.ok && out.summary) process.stdout.write(`${formatSummary(out.summary, file)}\n`);
        else process.stderr.write(`${out.errors.length} error${out.errors.length === 1 ? '' : 's'}\n`);
      }
      process.exitCode = out.ok ? 0 : 1;
    });
}
