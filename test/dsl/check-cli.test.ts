// `ccp-bt check` as a real process, on a good file, a bad file and a missing one; and every example
// program compiles against the datapath's schema.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../dsl/index.js';
import { DATAPATH_SCHEMA } from '../../datapath/program/schema.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'ccp-bt.cjs');
const EXAMPLES = join(ROOT, 'examples', 'programs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const children = new Set<number>();

function ccpBt(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) children.add(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ccp-bt ${args.join(' ')} timed out`));
    }, 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (child.pid !== undefined) children.delete(child.pid);
      resolve({ code, stdout, stderr });
    });
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ccp-bt-check-'));
});
afterAll(() => {
  for (const pid of children) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('ccp-bt check', () => {
  it('prints a summary and exits 0 for a good program', async () => {
    const file = join(dir, 'good.ccp');
    writeFileSync(file, '(def (Report (volatile sent 0)) (n 0))\n(when true (:= Report.sent (+ Report.sent Event.sent)) (:= Rate 50000) (fallthrough))\n(when (> Micros 100000) (report))\n');
    const r = await ccpBt(['check', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${file}: ok`);
    expect(r.stdout).toMatch(/reports: +volatile sent = 0/);
    expect(r.stdout).toMatch(/state: +n = 0/);
    expect(r.stdout).toMatch(/clauses: +2; \(report\) in clause 2/);
    expect(r.stdout).toMatch(/sets controls: +Rate/);
    expect(r.stderr).toContain("warning: state variable 'n' is declared but never used");
  });

  it('prints every error with position, caret and hint and exits 1 for a bad program', async () => {
    const file = join(dir, 'bad.ccp');
    writeFileSync(file, '(def (Report (x 0)))\n(when (> Flow.rate_ot 1) (:= Flow.rtt_us 1) (report))\n');
    const r = await ccpBt(['check', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${file}:2:10: error: unknown name 'Flow.rate_ot'; did you mean 'Flow.rate_out'?\n  (when (> Flow.rate_ot 1) (:= Flow.rtt_us 1) (report))\n           ^~~~~~~~~~~~\n`);
    expect(r.stderr).toContain(`${file}:2:30: error: cannot assign 'Flow.rtt_us': it is a read-only primitive`);
    expect(r.stderr).toContain('  hint: keep a copy in a state variable');
    expect(r.stderr).toContain('2 errors');
  });

  it('speaks JSON with --json', async () => {
    const bad = join(dir, 'bad-json.ccp');
    writeFileSync(bad, '(when (> Flow.rate_ot 1) (report))');
    const r = await ccpBt(['check', bad, '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { ok: boolean; errors: { line: number; column: number; code: string }[] };
    expect(out.ok).toBe(false);
    expect(out.errors.map((e) => [e.line, e.column, e.code])).toEqual([[1, 10, 'name.unknown']]);

    const good = join(EXAMPLES, 'report-rate.ccp');
    const g = await ccpBt(['check', good, '--json']);
    expect(g.code).toBe(0);
    const summary = (JSON.parse(g.stdout) as { ok: boolean; summary: { reportVars: { name: string }[] } }).summary;
    expect(summary.reportVars.map((v) => v.name)).toEqual(['sent', 'recv', 'rtt']);
  });

  it('names an unreadable file and exits 1', async () => {
    const r = await ccpBt(['check', join(dir, 'missing.ccp')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`ccp-bt check: cannot read ${join(dir, 'missing.ccp')}: no such file\n`);
  });
});

describe('example programs', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.ccp'));
  it('there are a few', () => expect(files.length).toBeGreaterThanOrEqual(3));
  it.each(files)('%s compiles against the datapath schema without warnings', (f) => {
    const r = compile(readFileSync(join(EXAMPLES, f), 'utf8'), DATAPATH_SCHEMA);
    expect(r.ok ? r.warnings : r.errors).toEqual([]);
    expect(r.ok).toBe(true);
  });
});
