// npm run bench:ipc — reports/s through one agent from one datapath, and the report → UpdateFields
// round trip, over Unix datagrams between two processes, against the in-process transport in the
// same run. The datapath side is this same file started with `--datapath <json>`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { connectDatapath, listenAgent } from '../protocol/unix-transport.js';
import { createInprocAgentServer } from '../protocol/inproc-transport.js';
import { DatagramWriter, copyDatagram, decodeDatagram } from '../protocol/codec.js';
import { MsgType, type Message } from '../protocol/messages.js';
import type { AgentServer, Channel, DatapathClient } from '../protocol/transport.js';
import { createSay, writeBenchReport, type Panel } from './report.js';

const REPORTS = Number(process.env['IPC_REPORTS'] ?? 1_000_000);
const RTT_ROUNDS = Number(process.env['IPC_RTT_ROUNDS'] ?? 20_000);
const RTT_WARMUP = 2_000;
const VALUES = 4; // Report variables per report (a typical program: sent, recv, rtt, queue)

// Everything printed is also kept for bench-out/ipc-<time>/table.txt.
const { say, lines: printed } = createSay();

interface DatapathResult {
  sendSeconds: number;
  rttUs: number[];
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The datapath's part, on either transport: a burst of reports, then ping-pong round trips. */
async function runDatapath(client: DatapathClient & { stats?: () => { queuedDatagrams: number } }): Promise<DatapathResult> {
  let updateArrived: (() => void) | null = null;
  client.onMessage((m) => {
    if (m.type === MsgType.UpdateFields && updateArrived !== null) {
      const f = updateArrived;
      updateArrived = null;
      f();
    }
  });
  const values = new Float64Array(VALUES);
  const t0 = performance.now();
  for (let i = 0; i < REPORTS; i++) {
    values[0] = i;
    client.send({ type: MsgType.Report, flowId: i & 1023, programId: 1, epoch: 1, timeUs: i, values });
    if ((i & 1023) === 1023) {
      await tick();
      // Respect backpressure as the real datapath would see it (a queue that stops shrinking).
      while ((client.stats?.().queuedDatagrams ?? 0) > 4) await sleep(0);
    }
  }
  const sendSeconds = (performance.now() - t0) / 1000;
  await sleep(200);

  const rttUs: number[] = [];
  for (let i = 0; i < RTT_WARMUP + RTT_ROUNDS; i++) {
    const start = performance.now();
    await new Promise<void>((resolve) => {
      updateArrived = resolve;
      values[0] = -1; // asks the agent for an answer
      client.send({ type: MsgType.Report, flowId: 1, programId: 1, epoch: 1, timeUs: i, values });
    });
    if (i >= RTT_WARMUP) rttUs.push((performance.now() - start) * 1000);
  }
  return { sendSeconds, rttUs };
}

/** The agent's part: count reports; answer a report whose first value is −1 with UpdateFields. */
function serveAgent(server: AgentServer, onAllReports: (seconds: number) => void): void {
  let count = 0;
  let first = 0;
  server.onChannel((ch: Channel) => {
    ch.onMessage((m: Message) => {
      if (m.type !== MsgType.Report) return;
      if (m.values[0] === -1) {
        ch.send({ type: MsgType.UpdateFields, flowId: m.flowId, fields: [{ name: 'Rate', value: 50_000 }] });
        return;
      }
      if (count === 0) first = performance.now();
      if (++count === REPORTS) onAllReports((performance.now() - first) / 1000);
    });
  });
}

interface Row {
  transport: string;
  reportsPerSecond: number;
  p50Us: number;
  p99Us: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function row(transport: string, agentSeconds: number, r: DatapathResult): Row {
  const sorted = r.rttUs.slice().sort((a, b) => a - b);
  return { transport, reportsPerSecond: REPORTS / agentSeconds, p50Us: percentile(sorted, 50), p99Us: percentile(sorted, 99) };
}

async function benchInproc(): Promise<Row> {
  const server = createInprocAgentServer('bench');
  const agentDone = new Promise<number>((resolve) => serveAgent(server, resolve));
  const client = server.connect('bench-dp');
  const result = await runDatapath(client);
  const seconds = await agentDone;
  await client.close();
  await server.close();
  return row('in-process', seconds, result);
}

async function benchUnix(): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'ccp-bench-'));
  try {
    const server = await listenAgent({ dir, name: 'bench' });
    const agentDone = new Promise<number>((resolve) => serveAgent(server, resolve));
    const self = fileURLToPath(import.meta.url);
    const child = spawn(process.execPath, ['--import', 'tsx', self, '--datapath', JSON.stringify({ dir })], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const seconds = await agentDone;
      const code = await exited;
      if (code !== 0) throw new Error(`datapath process exited with ${code}`);
      await sleep(20);
      return row('unix datagrams (2 processes)', seconds, JSON.parse(out) as DatapathResult);
    } finally {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      await server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface CodecFigures {
  encodeNs: number;
  decodeNs: number;
  jsonNs: number;
  encodeGcs: number;
  encodes: number;
}

/** Codec cost per report, and garbage collections while encoding (0 = no allocation per report). */
async function benchCodec(): Promise<CodecFigures> {
  const N = 1_000_000;
  const msg = { type: MsgType.Report as const, flowId: 7, programId: 1, epoch: 1, timeUs: 123_456, values: new Float64Array([1, 2, 3, 4]) };
  let gcs = 0;
  const obs = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  obs.observe({ entryTypes: ['gc'] });
  const writer = new DatagramWriter();
  const datagrams: Buffer[] = [];
  let t0 = performance.now();
  for (let i = 0; i < N; i++) {
    if (!writer.append(msg)) {
      if (datagrams.length < 64) datagrams.push(copyDatagram(writer.seal()));
      writer.reset();
      writer.append(msg);
    }
  }
  const encodeNs = ((performance.now() - t0) * 1e6) / N;
  await sleep(50); // gc entries are delivered asynchronously
  const encodeGcs = gcs;
  obs.disconnect();
  let decoded = 0;
  t0 = performance.now();
  while (decoded < N) for (const d of datagrams) decoded += decodeDatagram(d).messages.length;
  const decodeNs = ((performance.now() - t0) * 1e6) / decoded;
  const plain = { ...msg, values: Array.from(msg.values) };
  const M = 200_000;
  t0 = performance.now();
  for (let i = 0; i < M; i++) JSON.parse(JSON.stringify(plain));
  const jsonNs = ((performance.now() - t0) * 1e6) / M;
  say(
    `codec: encode ${encodeNs.toFixed(0)} ns/report (${encodeGcs} GCs in ${N.toLocaleString('en-US')} encodes), ` +
      `decode ${decodeNs.toFixed(0)} ns/report; together ${((encodeNs + decodeNs) / jsonNs).toFixed(2)}x ` +
      `the time of JSON stringify+parse (${jsonNs.toFixed(0)} ns)\n`,
  );
  return { encodeNs, decodeNs, jsonNs, encodeGcs, encodes: N };
}

async function main(): Promise<void> {
  const datapathArg = process.argv.indexOf('--datapath');
  if (datapathArg >= 0) {
    const { dir } = JSON.parse(process.argv[datapathArg + 1]!) as { dir: string };
    const client = await connectDatapath({ dir, name: 'bench' });
    const result = await runDatapath(client);
    await client.close();
    process.stdout.write(JSON.stringify(result));
    return;
  }
  say(`ipc bench: ${REPORTS} reports of ${VALUES} values, ${RTT_ROUNDS} report→update round trips\n`);
  const codec = await benchCodec();
  const inproc = await benchInproc();
  const unix = await benchUnix();
  const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const lines = [
    ['transport', 'reports/s', 'vs in-process', 'rtt p50 µs', 'rtt p99 µs', 'p99 vs in-process'],
    ...[inproc, unix].map((r) => [
      r.transport,
      fmt(r.reportsPerSecond),
      `${fmt(r.reportsPerSecond / inproc.reportsPerSecond, 2)}x`,
      fmt(r.p50Us, 1),
      fmt(r.p99Us, 1),
      `${fmt(r.p99Us / inproc.p99Us, 2)}x`,
    ]),
  ];
  const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  for (const l of lines) say(l.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  say(
    `\ntargets (unix): ≥ 200,000 reports/s → ${unix.reportsPerSecond >= 200_000 ? 'met' : 'MISSED'}; ` +
      `p99 < 1000 µs → ${unix.p99Us < 1000 ? 'met' : 'MISSED'}`,
  );
  writeReport(codec, inproc, unix);
}

/** bench-out/ipc-<time>/: each transport against in-process, the codec against JSON. */
function writeReport(codec: CodecFigures, inproc: Row, unix: Row): void {
  const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const rows = [inproc, unix];
  const panels: Panel[] = [
    {
      title: 'reports per second through the agent (more is better)',
      note: 'the label adds the ratio to in-process',
      references: [{ value: 200_000, label: 'target ≥ 200k (unix)' }],
      groups: rows.map((r) => ({
        name: r.transport,
        bars: [{ series: r.transport, value: r.reportsPerSecond, label: `${fmt(r.reportsPerSecond)}/s (${fmt(r.reportsPerSecond / inproc.reportsPerSecond, 2)}×)` }],
      })),
    },
    {
      title: 'report → UpdateFields round trip (µs, less is better)',
      note: 'log scale; the label adds the ratio to in-process',
      scale: 'log',
      references: [{ value: 1000, label: 'target p99 < 1000' }],
      groups: (['p50', 'p99'] as const).map((q) => ({
        name: `rtt ${q}`,
        bars: rows.map((r) => {
          const v = q === 'p50' ? r.p50Us : r.p99Us;
          const ref = q === 'p50' ? inproc.p50Us : inproc.p99Us;
          return { series: r.transport, value: v, label: `${fmt(v, 1)} µs (${fmt(v / ref, 2)}×)` };
        }),
      })),
    },
    {
      title: 'codec per report (ns, less is better)',
      note: `binary codec vs JSON stringify+parse; ${codec.encodeGcs} GCs in ${fmt(codec.encodes)} encodes`,
      groups: [
        { name: 'encode', bars: [{ series: 'binary codec', value: codec.encodeNs, label: `${fmt(codec.encodeNs)} ns` }] },
        { name: 'decode', bars: [{ series: 'binary codec', value: codec.decodeNs, label: `${fmt(codec.decodeNs)} ns` }] },
        {
          name: 'encode + decode',
          bars: [
            { series: 'binary codec', value: codec.encodeNs + codec.decodeNs, label: `${fmt(codec.encodeNs + codec.decodeNs)} ns (${fmt((codec.encodeNs + codec.decodeNs) / codec.jsonNs, 2)}×)` },
            { series: 'JSON', value: codec.jsonNs, label: `${fmt(codec.jsonNs)} ns` },
          ],
        },
      ],
    },
  ];
  const dir = writeBenchReport('ipc', printed(), { reports: REPORTS, valuesPerReport: VALUES, rttRounds: RTT_ROUNDS, codec, transports: rows }, panels);
  if (dir) console.log(`\nreport: ${dir}/ (table.txt, results.json, plot.svg)`);
}

await main();
