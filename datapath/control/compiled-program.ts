// The datapath's view of a compiled DSL program: compiled once against DATAPATH_SCHEMA, shared by
// every flow that runs it (each flow has its own instance: register file and report values).
import { compile, formatDiagnostic, type Instance, type Program } from '../../dsl/index.js';
import { CONTROL_CHOKE, CONTROL_RATE, CONTROL_RATE_IN, CONTROL_WINDOW, DATAPATH_SCHEMA } from '../program/schema.js';

export type ProgramInstance = Instance;

export interface CompiledProgram {
  readonly program: Program;
  /** Report variable names without the "Report." prefix, in report order. */
  readonly reportVars: readonly string[];
  /** Register indexes of the control fields in an instance. */
  readonly rateIdx: number;
  readonly chokeIdx: number;
  readonly windowIdx: number;
  readonly rateInIdx: number;
  /** Register index of a settable field ("Rate", "Report.x", "x"), or -1. */
  fieldIndex(name: string): number;
}

export type CompileOutcome = { ok: true; compiled: CompiledProgram } | { ok: false; message: string };

function wrap(program: Program): CompiledProgram {
  const rateIdx = program.fieldIndex(CONTROL_RATE);
  const chokeIdx = program.fieldIndex(CONTROL_CHOKE);
  const windowIdx = program.fieldIndex(CONTROL_WINDOW);
  const rateInIdx = program.fieldIndex(CONTROL_RATE_IN);
  if (rateIdx < 0 || chokeIdx < 0 || windowIdx < 0 || rateInIdx < 0) throw new Error('compiled program lacks a control field register');
  return {
    program,
    reportVars: program.reportVars.map((v) => v.name),
    rateIdx,
    chokeIdx,
    windowIdx,
    rateInIdx,
    fieldIndex: (name) => program.fieldIndex(name),
  };
}

/** Identical sources share one compiled program (agents reconnecting reinstall the same text). */
const cache = new Map<string, CompiledProgram>();
const CACHE_LIMIT = 256;

/** Compiles `source` for the datapath; errors come back as one message with line:col for each problem. */
export function compileForDatapath(source: string): CompileOutcome {
  const hit = cache.get(source);
  if (hit) return { ok: true, compiled: hit };
  const result = compile(source, DATAPATH_SCHEMA); // never throws: problems come back as diagnostics
  if (!result.ok) {
    const message = result.errors.map((d) => formatDiagnostic(d, source)).join('\n');
    return { ok: false, message: message || 'program did not compile' };
  }
  let compiled: CompiledProgram;
  try {
    compiled = wrap(result.program);
  } catch (err) {
    return { ok: false, message: `internal error: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(source, compiled);
  return { ok: true, compiled };
}
