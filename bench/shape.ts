// bench:shape — the same client and transfer capped by `trickle -s -u` and by `ccp-bt shape`, in one run.
//
// The client is aria2 seeding one file, with `--event-poll=select` (TOOLCHAIN.md: trickle breaks with
// poll(); aria2 1.36's default epoll measured fine too). A ccp-bt leecher downloads it through a counting relay
// in this process, the same in both cases, which timestamps every byte coming from the seeder side.
// Printed per cap: achieved rate / target (first to last byte, aria2's start-up wait left out) and the
// spread of per-second rates (p10–p90 as a fraction of the target, and the coefficient of variation).
//
// Usage: npm run bench:shape [-- --seconds 12 --rates 50,200,1000]   (rates in KiB/s: trickle's unit)
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createSay, writeBenchReport, type Panel } from './report.js';
import { ccp, freePort, hasCommand, killAll, makeTorrent, run, startShape, tempDir, ARIA2_FLAGS, type Proc } from '../test/shape/real-clients.js';

interface Args {
  seconds: number;
  ratesKiB: number[];
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 12, ratesKiB: [50, 200, 1000] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seconds') a.seconds = Number(argv[++i]);
    else if (argv[i] === '--rates') a.ratesKiB = argv[++i]!.split(',').map(Number);
  }
  if (!(a.seconds >= 4) || a.ratesKiB.some((r) => !(r > 0))) throw new Error('usage: bench/shape.ts [--seconds N>=4] [--rates 50,200,1000]');
  return a;
}

/** A relay that counts bytes flowing from `target` back to the connecting side, by arrival time. */
class CountingRelay {
  readonly arrivals: { tMs: number; bytes: number }[] = [];
  private server: Server | null = null;
  private readonly sockets: Socket[] = [];
  port = 0;

  async start(targetPort: number): Promise<void> {
    this.server = createServer((inbound) => {
      const out = connect({ host: '127.0.0.1', port: targetPort });
      this.sockets.push(inbound, out);
      inbound.on('error', () => out.destroy());
      out.on('error', () => inbound.destroy());
      out.on('data', (c: Buffer) => this.arrivals.push({ tMs: performance.now(), bytes: c.length }));
      inbound.pipe(out);
      out.pipe(inbound);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

interface Result {
  ratio: number;
  p10: number;
  p90: number;
  cv: number;
  seconds: number;
}

function analyse(arrivals: { tMs: number; bytes: number }[], targetBps: number): Result {
  // The payload starts when the first big chunk comes (handshakes and bitfields are small).
  let i0 = arrivals.findIndex((a) => a.bytes >= 1000);
  if (i0 < 0) i0 = 0;
  const t0 = arrivals[i0]!.tMs;
  const last = arrivals[arrivals.length - 1]!.tMs;
  // Achieved rate: least-squares slope of cumulative bytes over time, so a start-up burst (one
  // block of saved credit, or trickle's first window) does not count as rate.
  let cum = 0;
  let n = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let i = i0; i < arrivals.length; i++) {
    cum += arrivals[i]!.bytes;
    const x = (arrivals[i]!.tMs - t0) / 1000;
    n++;
    sx += x;
    sy += cum;
    sxx += x * x;
    sxy += x * cum;
  }
  const rate = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  // Per-second bins over the whole seconds of the transfer, the first (start-up) second left out.
  const bins: number[] = [];
  for (let i = i0; i < arrivals.length; i++) {
    const b = Math.floor((arrivals[i]!.tMs - t0) / 1000);
    bins[b] = (bins[b] ?? 0) + arrivals[i]!.bytes;
  }
  const whole = Array.from({ length: Math.floor((last - t0) / 1000) }, (_, i) => bins[i] ?? 0).slice(1);
  const sorted = [...whole].sort((a, b) => a - b);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))] ?? 0;
  const mean = whole.reduce((a, b) => a + b, 0) / Math.max(1, whole.length);
  const sd = Math.sqrt(whole.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, whole.length));
  return { ratio: rate / targetBps, p10: q(0.1) / targetBps, p90: q(0.9) / targetBps, cv: mean > 0 ? sd / mean : 0, seconds: (last - t0) / 1000 };
}

async function waitExit(p: Proc, ms: number, what: string): Promise<void> {
  const code = await Promise.race([p.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]);
  if (code !== 0) throw new Error(`${what}: ${code === 'timeout' ? 'timed out' : `exit ${code}`}\n${p.err().slice(-2000)}`);
}

async function transfer(shaper: 'trickle' | 'shape', rateKiB: number, seconds: number, dir: string): Promise<Result> {
  const target = rateKiB * 1024;
  const size = Math.round((target * seconds) / 16384) * 16384;
  const work = join(dir, `${shaper}-${rateKiB}`);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(work, { recursive: true });
  const { torrent } = await makeTorrent(work, 'payload.bin', size, 16 * 1024 * 16);
  const ariaPort = await freePort();
  const aria = [...ARIA2_FLAGS, '--event-poll=select', `--dir=${work}`, `--listen-port=${ariaPort}`, '--seed-ratio=0.0', torrent];
  let seedPort = ariaPort;
  if (shaper === 'trickle') {
    run('trickle', ['-s', '-u', String(rateKiB), 'aria2c', ...aria]);
  } else {
    run('aria2c', aria);
    const fwd = await freePort();
    await startShape(['--no-socks', '--listen', '127.0.0.1:0', '--forward', `${fwd}:127.0.0.1:${ariaPort}`, '--max-up', String(target), '-q']);
    seedPort = fwd;
  }
  const relay = new CountingRelay();
  await relay.start(seedPort);
  try {
    const out = join(work, 'leech');
    const leecher = ccp(['download', torrent, '-o', out, '--peer', `127.0.0.1:${relay.port}`, '--no-announce', '--host', '127.0.0.1', '--port', String(await freePort()), '--json']);
    await waitExit(leecher, (seconds * 4 + 60) * 1000, `leecher (${shaper} ${rateKiB} KiB/s)`);
    return analyse(relay.arrivals, target);
  } finally {
    await relay.stop();
    await killAll();
  }
}

/** Per cap, trickle against ccp-bt shape: how close to the target, and how steady. */
function shapePanels(rows: readonly { rate: number; trickle: Result; shape: Result }[]): Panel[] {
  const both = (r: { trickle: Result; shape: Result }): [string, Result][] => [['trickle', r.trickle], ['ccp-bt shape', r.shape]];
  return [
    {
      title: 'achieved rate / target (1 = on target)',
      note: 'bars from 1; whiskers: p10–p90 of per-second rates / target; the label adds the error',
      baseline: 1,
      groups: rows.map((r) => ({
        name: `${r.rate} KiB/s`,
        bars: both(r).map(([series, x]) => ({
          series,
          value: x.ratio,
          range: [x.p10, x.p90] as const,
          label: `${x.ratio.toFixed(3)} (${x.ratio >= 1 ? '+' : ''}${((x.ratio - 1) * 100).toFixed(1)}%)`,
        })),
      })),
    },
    {
      title: 'variation of per-second rates: cv (less is better)',
      note: 'the label adds cv shape / trickle',
      groups: rows.map((r) => ({
        name: `${r.rate} KiB/s`,
        bars: both(r).map(([series, x]) => ({
          series,
          value: x.cv,
          label: series === 'trickle' ? x.cv.toFixed(3) : `${x.cv.toFixed(3)} (${(x.cv / Math.max(1e-9, r.trickle.cv)).toFixed(2)}× trickle)`,
        })),
      })),
    },
  ];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  for (const c of ['aria2c', 'trickle']) if (!hasCommand(c)) throw new Error(`${c} is not installed (apt-get install aria2 trickle)`);
  const t = tempDir('bench-shape');
  const fmt = (n: number): string => n.toFixed(3);
  // Everything printed is also kept for bench-out/shape-<time>/table.txt.
  const { say, lines } = createSay();
  try {
    say(`bench:shape — aria2 seeding (--event-poll=select), ccp-bt leecher, ~${args.seconds} s per transfer`);
    say('cap        shaper   rate/target  p10/target  p90/target  cv(1s)   seconds');
    const rows: { rate: number; trickle: Result; shape: Result }[] = [];
    for (const r of args.ratesKiB) {
      const tr = await transfer('trickle', r, args.seconds, t.dir);
      say(`${String(r).padStart(5)} KiB/s trickle  ${fmt(tr.ratio).padStart(10)}  ${fmt(tr.p10).padStart(10)}  ${fmt(tr.p90).padStart(10)}  ${fmt(tr.cv).padStart(6)}  ${tr.seconds.toFixed(1).padStart(7)}`);
      const sh = await transfer('shape', r, args.seconds, t.dir);
      say(`${String(r).padStart(5)} KiB/s shape    ${fmt(sh.ratio).padStart(10)}  ${fmt(sh.p10).padStart(10)}  ${fmt(sh.p90).padStart(10)}  ${fmt(sh.cv).padStart(6)}  ${sh.seconds.toFixed(1).padStart(7)}`);
      rows.push({ rate: r, trickle: tr, shape: sh });
    }
    say('');
    for (const { rate, trickle, shape } of rows) {
      const closer = Math.abs(shape.ratio - 1) <= Math.abs(trickle.ratio - 1);
      const smoother = shape.cv <= trickle.cv;
      say(
        `${rate} KiB/s: error shape ${((shape.ratio - 1) * 100).toFixed(1)}% vs trickle ${((trickle.ratio - 1) * 100).toFixed(1)}% (${closer ? 'closer' : 'NOT closer'}); ` +
          `cv shape/trickle = ${(shape.cv / Math.max(1e-9, trickle.cv)).toFixed(2)} (${smoother ? 'smoother' : 'NOT smoother'})`,
      );
    }
    const dir = writeBenchReport('shape', lines(), { seconds: args.seconds, ratesKiB: args.ratesKiB, rows }, shapePanels(rows));
    if (dir) console.log(`\nreport: ${dir}/ (table.txt, results.json, plot.svg)`);
  } finally {
    await killAll();
    t.cleanup();
  }
}

main().catch(async (err: unknown) => {
  await killAll();
  process.stderr.write(`bench:shape: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
