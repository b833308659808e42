// Valid programs and what they report over a scripted series of events, under both evaluators.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile, type CompileMode, type Program } from '../../dsl/index.js';
import { DATAPATH_SCHEMA, FLOW, EVENT, FLOW_BANK_SIZE, EVENT_BANK_SIZE, TORRENT_BANK_SIZE } from '../../datapath/program/schema.js';
import { TEST_SCHEMA, bankOf, type TestEvent } from './helpers.js';

const MODES: CompileMode[] = ['generated', 'closures', 'interpreted'];

function build(source: string, mode: CompileMode, schema = TEST_SCHEMA): Program {
  const r = compile(source, schema, { mode });
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n'));
  return r.program;
}

/** Runs events; returns, per event, the report (or null when the event did not report). */
function script(p: Program, events: TestEvent[]): (number[] | null)[] {
  const inst = p.newInstance();
  return events.map((e) => (p.run(inst, [bankOf(e)]) ? [...inst.report] : null));
}

describe.each(MODES)('valid programs (%s)', (mode) => {
  it('runs the design sketch on the datapath schema: sums sent bytes, reports every 100 ms', () => {
    const src = `(def (Report (volatile sent 0) (volatile recv 0) (rtt 0)) (state 0))
(when true
  (:= Report.sent (+ Report.sent Event.sent))
  (:= Report.rtt Flow.rtt_us)
  (fallthrough))
(when (> Micros 100000)
  (report))`;
    const p = build(src, mode, DATAPATH_SCHEMA);
    expect(p.reportVars.map((v) => v.name)).toEqual(['sent', 'recv', 'rtt']);
    const flow = new Float64Array(FLOW_BANK_SIZE);
    const ev = new Float64Array(EVENT_BANK_SIZE);
    const tor = new Float64Array(TORRENT_BANK_SIZE);
    const inst = p.newInstance();
    const steps: [number, number, number][] = [[100, 1_000_000, 40], [200, 1_050_000, 41], [300, 1_100_001, 42], [50, 1_150_000, 43], [0, 1_250_000, 44]];
    const out = steps.map(([sent, now, rtt]) => {
      ev[EVENT.sent] = sent;
      ev[EVENT.now_us] = now;
      flow[FLOW.rtt_us] = rtt;
      return p.run(inst, [flow, ev, tor]) ? [...inst.report] : null;
    });
    // The clock starts at the first event; it reads 100001 at the third, then restarts there.
    expect(out).toEqual([null, null, [600, 0, 42], null, [50, 0, 44]]);
  });

  it('tries clauses in order: the first that holds runs, fallthrough goes on', () => {
    const src = `(def (Report (volatile hits 0) (last 0)))
(when (> In.a 10) (:= Report.last 1) (:= Report.hits (+ Report.hits 1)) (fallthrough))
(when (> In.a 5)  (:= Report.last 2) (:= Report.hits (+ Report.hits 10)))
(when true        (:= Report.last 3) (:= Report.hits (+ Report.hits 100)))
(when true        (report))`;
    const p = build(src, mode);
    // a=20: clause 1 falls through to clause 2, which stops. No report clause reached.
    // a=7: clause 2 only. a=0: clause 3 stops before the report clause: nothing ever reports.
    const inst = p.newInstance();
    const hits = [20, 7, 0].map((a) => (p.run(inst, [bankOf({ a })]), [inst.regs[0], inst.regs[1]]));
    expect(hits).toEqual([[11, 2], [21, 2], [121, 3]]);
  });

  it('reports the values at the end of the event, then resets volatile variables to their initial values', () => {
    const src = `(def (Report (volatile n 7) (keep 0) (volatile f true)))
(when true (:= Report.n (+ Report.n In.a)) (:= Report.keep (+ Report.keep 1)) (:= Report.f In.flag) (fallthrough))
(when (> In.b 0) (report))`;
    const p = build(src, mode);
    expect(script(p, [{ a: 1 }, { a: 2, b: 1 }, { a: 3, b: 1, flag: true }, { a: 0 }, { b: 1 }])).toEqual([
      null,
      [10, 2, 0],
      [10, 3, 1],
      null,
      [7, 5, 0], // n: reset to 7 after the last report, 7 + 0 + 0
    ]);
  });

  it('reads the clock relative to the last report and lets the program assign it', () => {
    const src = `(def (Report (t 0)))
(when (> In.a 0) (:= T 1000) (fallthrough))
(when true (:= Report.t T) (fallthrough))
(when (>= T 500) (report))`;
    const p = build(src, mode);
    expect(script(p, [{ now: 10_000 }, { now: 10_200 }, { now: 10_600 }, { now: 10_700 }, { now: 10_800, a: 1 }, { now: 10_900 }])).toEqual([
      null, // first event: the clock starts, T = 0
      null, // T = 200
      [600], // T = 600: report, clock restarts at 10600
      null, // T = 100
      [1000], // assigned: T reads 1000 now
      null, // 100 after the report
    ]);
    // An explicit start time instead of the first event.
    const inst = p.newInstance(0);
    expect(p.run(inst, [bankOf({ now: 700 })])).toBe(true);
    expect([...inst.report]).toEqual([700]);
  });

  it('divides by zero as 0 and counts it, for / and %', () => {
    const src = `(def (Report (q 0) (m 0)))
(when true (:= Report.q (/ In.a In.b)) (:= Report.m (% In.a In.b)) (report))`;
    const p = build(src, mode);
    const inst = p.newInstance();
    p.run(inst, [bankOf({ a: 7, b: 2 })]);
    expect([...inst.report, inst.divByZero]).toEqual([3.5, 1, 0]);
    p.run(inst, [bankOf({ a: 7, b: 0 })]);
    expect([...inst.report, inst.divByZero]).toEqual([0, 0, 2]);
    p.run(inst, [bankOf({ a: -7, b: 2 })]);
    expect([...inst.report, inst.divByZero]).toEqual([-3.5, -1, 2]);
  });

  it('evaluates every operator', () => {
    const src = `(def (Report (sum 0) (diff 0) (neg 0) (prod 0) (lo 0) (hi 0) (avg 0) (pick 0) (cmp false) (logic false) (inf 0) (dec 0)))
(when true
  (:= Report.sum (+ In.a In.b 1 -2.5))
  (:= Report.diff (- In.a In.b))
  (:= Report.neg (- In.a))
  (:= Report.prod (* In.a In.b 2))
  (:= Report.lo (min In.a In.b -1))
  (:= Report.hi (max In.a In.b))
  (:= Report.avg (ewma 0.25 In.a In.b))
  (:= Report.pick (if (&& In.flag (not (== In.a In.b))) 1 2))
  (:= Report.cmp (and (< In.a In.b) (<= In.a In.a) (>= In.b In.a) (!= In.a In.b) (> In.b In.a)))
  (:= Report.logic (|| (! In.flag) (or false (== In.flag true))))
  (:= Report.inf (min +infinity In.a))
  (:= Report.dec .5)
  (report))`;
    const p = build(src, mode);
    expect(script(p, [{ a: 4, b: 8, flag: true }, { a: 3, b: 3 }])).toEqual([
      [10.5, -4, -4, 64, -1, 8, 5, 1, 1, 1, 4, 0.5], // ewma 0.25 4 8 = 0.25*8 + 0.75*4 = 5
      [4.5, 0, -3, 18, -1, 3, 3, 2, 0, 1, 3, 0.5],
    ]);
  });

  it('keeps one register file per instance; controls start at the schema initial and are set by name', () => {
    const src = `(def (Report (out 0)) (count 0))
(when true (:= count (+ count 1)) (:= Out (+ Out 1)) (:= On (not On)) (:= Report.out Out) (report))`;
    const p = build(src, mode);
    expect(p.controls).toEqual(['Out', 'On']);
    const one = p.newInstance();
    const two = p.newInstance();
    p.run(one, [bankOf({})]);
    p.run(one, [bankOf({})]);
    two.regs[p.fieldIndex('Out')] = 100; // the agent sets a control
    p.run(two, [bankOf({})]);
    expect([one.regs[p.fieldIndex('count')], one.regs[p.fieldIndex('Out')], one.regs[p.fieldIndex('On')]]).toEqual([2, 7, 0]);
    expect([two.regs[p.fieldIndex('count')], two.report[0], two.regs[p.fieldIndex('On')]]).toEqual([1, 101, 1]);
    expect(p.fieldIndex('Report.out')).toBe(0);
    expect(p.fieldIndex('out')).toBe(0);
    expect(p.fieldIndex('nope')).toBe(-1);
    expect(p.fieldIndex('In.a')).toBe(-1);
  });

  it('treats a stored boolean as true when non-zero (a host may write any number)', () => {
    const src = `(def (Report (seen false)))
(when On (:= Report.seen (== On true)) (report))`;
    const p = build(src, mode);
    const inst = p.newInstance();
    expect(p.run(inst, [bankOf({})])).toBe(false);
    inst.regs[p.fieldIndex('On')] = 2;
    expect(p.run(inst, [bankOf({})])).toBe(true);
    expect([...inst.report]).toEqual([1]);
  });
});

describe.each(MODES)('the AIMD example program (%s)', (mode) => {
  it('raises the cap on ticks, halves it when the socket queue grows, reports every 250 ms', () => {
    const src = readFileSync(join(import.meta.dirname, '..', '..', 'examples', 'programs', 'aimd-upload.ccp'), 'utf8');
    const p = build(src, mode, DATAPATH_SCHEMA);
    const flow = new Float64Array(FLOW_BANK_SIZE);
    const ev = new Float64Array(EVENT_BANK_SIZE);
    const tor = new Float64Array(TORRENT_BANK_SIZE);
    const inst = p.newInstance();
    const rate = p.fieldIndex('Rate');
    const steps = [
      { now: 0, age: 0, sent: 1000, tick: 0, queue: 0 }, // counts bytes; the cap is off (0)
      { now: 60_000, age: 60_000, sent: 0, tick: 1, queue: 0 }, // tick: cap 16384 + 16384
      { now: 70_000, age: 70_000, sent: 0, tick: 0, queue: 300_000 }, // queue grows: halve, at least 16384
      { now: 260_000, age: 130_000, sent: 0, tick: 1, queue: 0 }, // tick again; 260 ms since start: report
      { now: 270_000, age: 140_000, sent: 5, tick: 0, queue: 0 },
    ];
    const out = steps.map((x) => {
      ev[EVENT.now_us] = x.now;
      ev[EVENT.sent] = x.sent;
      ev[EVENT.tick] = x.tick;
      flow[FLOW.age_us] = x.age;
      flow[FLOW.queue_bytes] = x.queue;
      const reported = p.run(inst, [flow, ev, tor]);
      return [inst.regs[rate], reported ? [...inst.report] : null];
    });
    expect(out).toEqual([
      [0, null],
      [32768, null],
      [16384, null],
      [32768, [1000, 32768, 1]],
      [32768, null],
    ]);
  });
});

describe('compile results', () => {
  it('summarises what a program declares, reports, reads and sets', () => {
    const r = compile(`# comment first
(def (Report (volatile a 0) (b true)) (s 1))  # trailing comment
(when (> In.a s) (:= Out 3) (:= Report.a In.b) (:= s T) (report))
(when true (:= Report.b false))`, TEST_SCHEMA);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.program.summary).toEqual({
      reportVars: [{ name: 'a', volatile: true, type: 'number', initial: 0 }, { name: 'b', volatile: false, type: 'bool', initial: 1 }],
      stateVars: [{ name: 's', type: 'number', initial: 1 }],
      clauses: 2,
      reportingClauses: [1],
      controlsSet: ['Out'],
      inputsRead: ['In.a', 'In.b'],
      readsClock: true,
    });
    expect(r.warnings).toEqual([]);
  });

  it('warns about programs that never report, clauses that never run and unused variables', () => {
    const r = compile(`(def (Report (x 0)) (unused 0))
(when true (:= Report.x 1))
(when In.flag (:= Report.x 2))`, TEST_SCHEMA);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.warnings.map((w) => [w.line, w.column, w.code, w.message])).toEqual([
      [1, 1, 'warn.never-reports', 'no clause contains (report): the agent will never hear from this program'],
      [1, 21, 'warn.unused', "state variable 'unused' is declared but never used"],
      [3, 1, 'warn.unreachable', 'this clause never runs: the clause at line 2 always matches and does not fall through'],
    ]);
  });
});
