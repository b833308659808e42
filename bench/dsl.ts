// npm run bench:dsl — events per second for a 10-statement, two-clause datapath program, compiled
// (generated code), as a tree of closures and interpreted, against the same logic hand-written in TypeScript, in one run.
// Rounds are interleaved and medians taken so a noisy neighbour hurts every form alike.
import { compile, type Instance, type Program } from '../dsl/index.js';
import { DATAPATH_SCHEMA, EVENT, FLOW, FLOW_BANK_SIZE, EVENT_BANK_SIZE, TORRENT_BANK_SIZE } from '../datapath/program/schema.js';
import { createSay, writeBenchReport, type Panel } from './report.js';

const SOURCE = `
(def (Report (volatile sent 0) (volatile recv 0) (volatile blocks 0) (rtt 0)) (maxq 0) (lastrate 0))
(when true
  (:= Report.sent (+ Report.sent Event.sent))
  (:= Report.recv (+ Report.recv Event.recv))
  (:= Report.blocks (+ Report.blocks (if (> Event.recv 0) 1 0)))
  (:= Report.rtt (if (> Event.latency_us 0) (ewma 0.125 Report.rtt Event.latency_us) Report.rtt))
  (:= maxq (max maxq Flow.queue_bytes))
  (:= lastrate Flow.rate_out)
  (:= Rate (max 16384 (* Flow.rate_in 1.5)))
  (fallthrough))
(when (> Micros 100000)
  (:= maxq 0)
  (report))
`;

function build(mode: 'generated' | 'closures' | 'interpreted'): Program {
  const r = compile(SOURCE, DATAPATH_SCHEMA, { mode });
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.program;
}
const generated = build('generated');
const interpreted = build('interpreted');
const closureTree = build('closures');

// Register indices of the same program, for the hand-written version.
const P = generated;
const SENT = P.fieldIndex('Report.sent');
const RECV = P.fieldIndex('Report.recv');
const BLOCKS = P.fieldIndex('Report.blocks');
const RTT = P.fieldIndex('Report.rtt');
const MAXQ = P.fieldIndex('maxq');
const LASTRATE = P.fieldIndex('lastrate');
const RATE = P.fieldIndex('Rate');
const BASE = P.newInstance().regs.length - 1; // the clock base is the last register
const E_SENT = EVENT.sent;
const E_RECV = EVENT.recv;
const E_LAT = EVENT.latency_us;
const E_NOW = EVENT.now_us;
const F_QUEUE = FLOW.queue_bytes;
const F_RATE_OUT = FLOW.rate_out;
const F_RATE_IN = FLOW.rate_in;

/** The same logic written by hand, on the same register file. */
function handWritten(inst: Instance, banks: readonly Float64Array[]): boolean {
  const r = inst.regs;
  const flow = banks[0]!;
  const ev = banks[1]!;
  const now = ev[E_NOW]!;
  if (r[BASE] !== r[BASE]) r[BASE] = now;
  r[SENT] = r[SENT]! + ev[E_SENT]!;
  const recv = ev[E_RECV]!;
  r[RECV] = r[RECV]! + recv;
  r[BLOCKS] = r[BLOCKS]! + (recv > 0 ? 1 : 0);
  const lat = ev[E_LAT]!;
  if (lat > 0) r[RTT] = 0.125 * lat + 0.875 * r[RTT]!;
  r[MAXQ] = Math.max(r[MAXQ]!, flow[F_QUEUE]!);
  r[LASTRATE] = flow[F_RATE_OUT]!;
  r[RATE] = Math.max(16384, flow[F_RATE_IN]! * 1.5);
  if (!(now - r[BASE]! > 100000)) return false;
  r[MAXQ] = 0;
  const o = inst.report;
  o[0] = r[SENT]!;
  o[1] = r[RECV]!;
  o[2] = r[BLOCKS]!;
  o[3] = r[RTT]!;
  r[SENT] = 0;
  r[RECV] = 0;
  r[BLOCKS] = 0;
  r[BASE] = now;
  return true;
}

// A scripted stream of events: blocks of 16 KiB going both ways, latencies, a clock in 10 µs steps.
const flow = new Float64Array(FLOW_BANK_SIZE);
const ev = new Float64Array(EVENT_BANK_SIZE);
const torrent = new Float64Array(TORRENT_BANK_SIZE);
const banks = [flow, ev, torrent] as const;
const SCRIPT = 1024;
const sent = Float64Array.from({ length: SCRIPT }, (_, i) => (i % 3 === 0 ? 16384 : 0));
const recv = Float64Array.from({ length: SCRIPT }, (_, i) => (i % 2 === 0 ? 16384 : 0));
const lat = Float64Array.from({ length: SCRIPT }, (_, i) => (i % 2 === 0 ? 20_000 + (i % 7) * 1000 : 0));
flow[FLOW.rate_out] = 1e6;
flow[FLOW.rate_in] = 2e6;

function setEvent(i: number): void {
  const k = i & (SCRIPT - 1);
  ev[EVENT.sent] = sent[k]!;
  ev[EVENT.recv] = recv[k]!;
  ev[EVENT.latency_us] = lat[k]!;
  ev[EVENT.now_us] = i * 10;
  flow[FLOW.queue_bytes] = k * 100;
}

// One loop per form, so each call site stays monomorphic (as in a datapath running one program).
function loopGenerated(n: number): number {
  const inst = generated.newInstance();
  let reports = 0;
  for (let i = 0; i < n; i++) {
    setEvent(i);
    if (generated.run(inst, banks)) reports++;
  }
  return reports;
}
function loopInterpreted(n: number): number {
  const inst = interpreted.newInstance();
  let reports = 0;
  for (let i = 0; i < n; i++) {
    setEvent(i);
    if (interpreted.run(inst, banks)) reports++;
  }
  return reports;
}
function loopClosures(n: number): number {
  const inst = closureTree.newInstance();
  let reports = 0;
  for (let i = 0; i < n; i++) {
    setEvent(i);
    if (closureTree.run(inst, banks)) reports++;
  }
  return reports;
}
function loopHand(n: number): number {
  const inst = generated.newInstance();
  let reports = 0;
  for (let i = 0; i < n; i++) {
    setEvent(i);
    if (handWritten(inst, banks)) reports++;
  }
  return reports;
}
/** The loop with no program at all: what setting up an event costs, subtracted from nothing, shown for scale. */
function loopEmpty(n: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) {
    setEvent(i);
    x += ev[EVENT.sent]!;
  }
  return x > 0 ? 0 : 1;
}

// Sanity: the three forms agree on what they report.
function agree(): void {
  const a = generated.newInstance();
  const b = interpreted.newInstance();
  const c = generated.newInstance();
  const d = closureTree.newInstance();
  for (let i = 0; i < 50_000; i++) {
    setEvent(i);
    const ra = generated.run(a, banks);
    const rb = interpreted.run(b, banks);
    const rc = handWritten(c, banks);
    const rd = closureTree.run(d, banks);
    const same = a.report.join() === b.report.join() && a.report.join() === c.report.join() && a.report.join() === d.report.join();
    if (ra !== rb || ra !== rc || ra !== rd || (ra && !same)) {
      throw new Error(`forms disagree at event ${i}: ${a.report.join()} / ${b.report.join()} / ${c.report.join()} / ${d.report.join()}`);
    }
  }
}

function time(loop: (n: number) => number, n: number): number {
  const t0 = process.hrtime.bigint();
  const out = loop(n);
  const ns = Number(process.hrtime.bigint() - t0);
  if (out < 0) console.log(out); // keep the result alive
  return ns / n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}

agree();
const N_FAST = 2_000_000;
const N_SLOW = 200_000;
for (let w = 0; w < 3; w++) {
  loopGenerated(N_FAST);
  loopHand(N_FAST);
  loopInterpreted(N_SLOW);
  loopClosures(N_SLOW);
  loopEmpty(N_FAST);
}
const ROUNDS = 9;
const res = { generated: [] as number[], hand: [] as number[], interpreted: [] as number[], closures: [] as number[], empty: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  res.generated.push(time(loopGenerated, N_FAST));
  res.hand.push(time(loopHand, N_FAST));
  res.interpreted.push(time(loopInterpreted, N_SLOW));
  res.closures.push(time(loopClosures, N_SLOW));
  res.empty.push(time(loopEmpty, N_FAST));
}
const hand = median(res.hand);
const rows: [string, number][] = [
  ['hand-written TypeScript', hand],
  ['generated code (default)', median(res.generated)],
  ['tree of closures', median(res.closures)],
  ['reference interpreter', median(res.interpreted)],
  ['event set-up alone', median(res.empty)],
];
// Everything printed is also kept for bench-out/dsl-<time>/table.txt.
const { say, lines } = createSay();
say(`DSL program: 10 statements, 2 clauses; ${ROUNDS} interleaved rounds, medians (ns per event include writing the event)`);
say('');
say('form                       ns/event   M events/s   vs hand-written');
for (const [name, ns] of rows) {
  say(`${name.padEnd(26)} ${ns.toFixed(1).padStart(8)}   ${(1000 / ns).toFixed(1).padStart(10)}   ${(ns / hand).toFixed(2).padStart(8)}x`);
}
const gen = median(res.generated);
const eventsPerSec = 1e9 / gen;
const pass = eventsPerSec >= 10e6 && gen / hand <= 2;
say('');
say(`generated: ${(eventsPerSec / 1e6).toFixed(1)} M events/s (target >= 10), ${(gen / hand).toFixed(2)}x hand-written (target <= 2)`);
say(pass ? 'PASS' : 'MISS');

// The reference (hand-written), the program's three forms, and the loop without a program for scale.
const seriesOf = (name: string): string =>
  name.startsWith('hand') ? 'hand-written TypeScript (reference)' : name.startsWith('event') ? 'no program (event set-up only)' : 'DSL program';
const panels: Panel[] = [
  {
    title: 'events per second (M events/s, more is better)',
    note: 'log scale',
    scale: 'log',
    references: [{ value: 10, label: 'target ≥ 10' }],
    groups: rows.map(([name, ns]) => ({ name, bars: [{ series: seriesOf(name), value: 1000 / ns, label: `${(1000 / ns).toFixed(1)} M/s` }] })),
  },
  {
    title: 'time per event vs hand-written (×, less is better)',
    note: 'log scale, bars from 1× (left: faster than hand-written); the label adds ns per event, writing the event included',
    scale: 'log',
    baseline: 1,
    references: [{ value: 2, label: 'target ≤ 2×' }],
    groups: rows.map(([name, ns]) => ({ name, bars: [{ series: seriesOf(name), value: ns / hand, label: `${(ns / hand).toFixed(2)}× (${ns.toFixed(1)} ns)` }] })),
  },
];
const dir = writeBenchReport(
  'dsl',
  lines(),
  {
    rounds: ROUNDS,
    eventsPerRound: { fast: N_FAST, slow: N_SLOW },
    medianNsPerEvent: Object.fromEntries(rows),
    generatedEventsPerSecond: eventsPerSec,
    generatedVsHand: gen / hand,
    targets: { eventsPerSecond: 10e6, vsHand: 2 },
    pass,
    nsPerEventByRound: res,
  },
  panels,
);
if (dir) console.log(`\nreport: ${dir}/ (table.txt, results.json, plot.svg)`);
