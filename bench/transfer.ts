// npm run bench:transfer [-- --size 256Mi --leechers 8 --multi-size 64Mi --piece-length 256Ki --runs 1 --no-equal-rate --keep-env]
// One seeder → one leecher over loopback, then one seeder → N leechers: ccp-bt→ccp-bt against
// aria2→aria2 in the same run, through one local tracker. Prints MB/s (end to end and from the first
// byte on disk), the ratio ccp-bt/aria2, and CPU seconds of each side (from /proc and bash `times`).
// The single case also runs ccp-bt's leecher capped (--max-down) at the rate aria2 reached, so CPU is
// also compared at the same speed. ccp-bt runs from its CLI bundle, rebuilt first if a source changed.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import { startTracker, type TrackerServer } from '../tracker/server.js';
import { createTorrent } from '../datapath/metainfo/create.js';
import { parseMetainfo } from '../datapath/metainfo/metainfo.js';
import { parseBytes } from '../util/units.js';
import { createSay, writeBenchReport, type Panel } from './report.js';
// @ts-expect-error -- a plain .mjs build script without type declarations.
import { ensureCliBundle as ensureBundle } from '../scripts/bundle-cli.mjs';

const ensureCliBundle = ensureBundle as () => Promise<{ built: boolean; failed?: boolean }>;

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin', 'ccp-bt.cjs');
const CLK_TCK = 100;
const ARIA2 = ['--enable-dht=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--disable-ipv6=true',
  '--seed-ratio=0.0', '--bt-tracker-interval=2', '--summary-interval=0', '--console-log-level=error', '--file-allocation=none',
  '--bt-max-peers=55', '--max-overall-upload-limit=0', '--max-overall-download-limit=0'];

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const size = parseBytes(arg('size', '256Mi'), 'size');
const multiSize = parseBytes(arg('multi-size', String(Math.min(size, 64 * 1024 * 1024))), 'multi-size');
const leechers = Number(arg('leechers', '8'));
const pieceLength = parseBytes(arg('piece-length', '256Ki'), 'piece length');
const only = arg('only', 'all'); // all | single | multi
// Figures swing on a shared machine: with --runs N each client runs N times (alternating) and every
// figure is the median of its N values.
const runs = Math.max(1, Math.floor(Number(arg('runs', '1'))) || 1);
const equalRate = !process.argv.includes('--no-equal-rate');
// Some machines set NODE_EXTRA_CA_CERTS: every Node process then parses that CA bundle at start
// (~0.06 s of CPU here) though ccp-bt makes no TLS connection, and aria2 never reads it. Children run
// without it unless --keep-env; the report says which.
const childEnv: NodeJS.ProcessEnv = { ...process.env };
const droppedCaCerts = !process.argv.includes('--keep-env') && childEnv.NODE_EXTRA_CA_CERTS !== undefined;
if (droppedCaCerts) delete childEnv.NODE_EXTRA_CA_CERTS;
let cappedBps = 0;

// Everything printed is also kept for bench-out/…/table.txt; the figures go to results.json and plot.svg.
const { say, lines: printedLines } = createSay();
const scenarios: { name: string; results: RunResult[] }[] = [];
/** Every run, not only the medians (results.json): the spread is part of the figure. */
const everyRun: RunResult[] = [];

const children = new Set<ChildProcess>();
function killAll(): void {
  for (const c of children) if (c.pid && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
}
process.on('exit', killAll);
process.on('SIGINT', () => process.exit(130));

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => res(p));
    });
  });
}

/** CPU seconds of a live process, user and system. */
function cpuOf(pid: number): { userS: number; sysS: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { userS: Number(fields[11]) / CLK_TCK, sysS: Number(fields[12]) / CLK_TCK };
  } catch {
    return { userS: Number.NaN, sysS: Number.NaN };
  }
}

interface Finished {
  code: number | null;
  cpuS: number;
  /** The kernel's share of cpuS. */
  sysS: number;
  endMs: number;
  out: string;
}

/** Runs a command that exits by itself; its CPU time comes from bash's `times` (children's totals). */
function runTimed(cmd: string[], cwd = ROOT): { child: ChildProcess; done: Promise<Finished> } {
  const script = '"$@"; rc=$?; times >&2; exit $rc';
  const child = spawn('bash', ['-c', script, '_', ...cmd], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<Finished>((res) => {
    child.on('exit', (code) => {
      children.delete(child);
      // `times` prints the shell's own line, then its children's: the last line that has the shape.
      // (A child's stderr can end without a newline, so lines are matched at their end.)
      const lines = err.trim().split('\n');
      let m: RegExpExecArray | null = null;
      for (let i = lines.length - 1; i >= 0 && !m; i--) m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s\s*$/.exec(lines[i]!);
      if (!m) console.error(`warning: no CPU times from ${cmd[0]} (stderr ends: ${JSON.stringify(err.slice(-300))})`);
      const userS = m ? Number(m[1]) * 60 + Number(m[2]) : Number.NaN;
      const sysS = m ? Number(m[3]) * 60 + Number(m[4]) : Number.NaN;
      res({ code, cpuS: userS + sysS, sysS, endMs: performance.now(), out: out + err });
    });
  });
  return { child, done };
}

function runLive(cmd: string[]): ChildProcess {
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd: ROOT, env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function makeData(dir: string, bytes: number, tracker: TrackerServer): Promise<{ file: string; torrent: string; infoHash: string }> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'payload.bin');
  const ws = createWriteStream(file);
  for (let left = bytes; left > 0; left -= 16 << 20) {
    const chunk = randomBytes(Math.min(left, 16 << 20));
    if (!ws.write(chunk)) await new Promise<void>((r) => ws.once("drain", () => r()));
  }
  await new Promise<void>((r) => ws.end(r));
  // On disk before the run: the kernel writing the fresh file back during the transfer would bill both
  // sides' CPU with the contention (and a real seeder serves files long on disk).
  const fd = openSync(file, 'r');
  fsyncSync(fd);
  closeSync(fd);
  const torrentBytes = await createTorrent({ path: file, trackers: [[tracker.httpUrl]], pieceLength, creationDate: null });
  const torrent = join(dir, 'payload.torrent');
  writeFileSync(torrent, torrentBytes);
  return { file, torrent, infoHash: parseMetainfo(torrentBytes).infoHashHex };
}

/**
 * ccp-bt-1proc: the N leechers are N Sessions in one process (as the world runs them), bench/leech-inproc.ts bundled.
 * ccp-bt-capped: the leecher with --max-down at the rate aria2 reached (cappedBps).
 */
type Client = 'ccp-bt' | 'ccp-bt-1proc' | 'ccp-bt-capped' | 'aria2';

function seederCmd(client: Client, torrent: string, dataDir: string, port: number): string[] {
  return client !== 'aria2'
    ? [process.execPath, CLI, 'seed', torrent, '--data', dataDir, '--host', '127.0.0.1', '--port', String(port)]
    : ['aria2c', ...ARIA2, '-V', '--check-integrity=true', `--listen-port=${port}`, '-d', dataDir, torrent];
}

function leecherCmd(client: Client, torrent: string, dir: string, port: number): string[] {
  if (client === 'aria2') return ['aria2c', ...ARIA2, '--seed-time=0', `--listen-port=${port}`, '-d', dir, torrent];
  const cap = client === 'ccp-bt-capped' ? ['--max-down', String(Math.round(cappedBps))] : [];
  return [process.execPath, CLI, 'download', torrent, '-o', dir, '--host', '127.0.0.1', '--port', String(port), '--json', ...cap];
}

/** CPU seconds a ccp-bt process spends just starting (loading the CLI through tsx), best of 3. */
async function startupCpuS(): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const r = await runTimed([process.execPath, CLI, 'download', '--help']).done;
    best = Math.min(best, r.cpuS);
  }
  return best;
}

interface RunResult {
  client: Client;
  bytes: number;
  leechers: number;
  endToEndS: number;
  fromFirstByteS: number;
  seederCpuS: number;
  leecherCpuS: number;
  /**
   * Bytes the leechers uploaded (to each other), as they reported to the tracker when they stopped. A
   * swarm whose leechers trade pieces spares the seeder and costs them CPU: compare CPU with this in view.
   */
  leechersUploadedBytes: number;
  /** The kernel's share of seederCpuS and leecherCpuS (page cache, sockets): it swings most between runs. */
  seederSysS: number;
  leecherSysS: number;
}

async function swarmRun(client: Client, tracker: TrackerServer, work: string, bytes: number, n: number): Promise<RunResult> {
  const src = join(work, `${client}-src`);
  const { file, torrent, infoHash } = await makeData(src, bytes, tracker);
  const seederPort = await freePort();
  const seeder = runLive(seederCmd(client, torrent, src, seederPort));
  await waitFor(() => (tracker.swarms().get(infoHash)?.seeders ?? 0) > 0, 120_000, `${client} seeder to announce`);
  await new Promise((r) => setTimeout(r, 300));
  const seederCpu0 = cpuOf(seeder.pid!);
  const t0 = performance.now();
  const dsts: string[] = [];
  const runs = [];
  for (let i = 0; i < n; i++) {
    const dst = join(work, `${client}-dst${i}`);
    mkdirSync(dst, { recursive: true });
    dsts.push(dst);
    if (client !== 'ccp-bt-1proc') runs.push(runTimed(leecherCmd(client, torrent, dst, await freePort())));
  }
  if (client === 'ccp-bt-1proc') runs.push(runTimed([process.execPath, inprocLeecher, torrent, ...dsts]));
  // First byte: the first leecher file with blocks on disk.
  let firstByteMs = Number.NaN;
  const poll = setInterval(() => {
    if (!Number.isNaN(firstByteMs)) return;
    for (const d of dsts) {
      try {
        if (statSync(join(d, 'payload.bin')).blocks > 0) firstByteMs = performance.now();
      } catch {
        // not created yet
      }
    }
  }, 10);
  const results = await Promise.all(runs.map((r) => r.done));
  clearInterval(poll);
  const seederCpu1 = cpuOf(seeder.pid!);
  seeder.kill('SIGKILL');
  const end = Math.max(...results.map((r) => r.endMs));
  for (const [i, r] of results.entries()) {
    if (r.code !== 0) throw new Error(`${client} leecher ${i} exited ${r.code}: ${r.out.slice(-2000)}`);
  }
  const want = readFileSync(file);
  for (const d of dsts) if (!readFileSync(join(d, 'payload.bin')).equals(want)) throw new Error(`${client}: ${d} differs from the source`);
  for (const d of [src, ...dsts]) rmSync(d, { recursive: true, force: true });
  return {
    client, bytes, leechers: n,
    endToEndS: (end - t0) / 1000,
    fromFirstByteS: (end - (Number.isNaN(firstByteMs) ? t0 : firstByteMs)) / 1000,
    seederCpuS: seederCpu1.userS + seederCpu1.sysS - seederCpu0.userS - seederCpu0.sysS,
    seederSysS: seederCpu1.sysS - seederCpu0.sysS,
    leecherCpuS: results.reduce((a, r) => a + r.cpuS, 0),
    leechersUploadedBytes: [...(uploadedBy.get(infoHash) ?? new Map<number, number>())].reduce((a, [port, up]) => (port === seederPort ? a : a + up), 0),
    leecherSysS: results.reduce((a, r) => a + r.sysS, 0),
  };
}

/** Bundles bench/leech-inproc.ts (ccp-bt-1proc's child) into one CommonJS file, as the CLI is bundled. */
async function bundleInprocLeecher(dir: string): Promise<string> {
  const { build } = await import('esbuild');
  const outfile = join(dir, 'leech-inproc.cjs');
  await build({
    absWorkingDir: ROOT, entryPoints: ['bench/leech-inproc.ts'], bundle: true, format: 'cjs', platform: 'node', target: 'node20',
    outfile, external: ['unix-dgram'], logLevel: 'error',
  });
  return outfile;
}

/** Runs each client `runs` times, alternating, and returns the per-field medians in the same order. */
async function medianRuns(clients: Client[], tracker: TrackerServer, work: string, bytes: number, n: number): Promise<RunResult[]> {
  const all: RunResult[][] = clients.map(() => []);
  for (let k = 0; k < runs; k++) {
    for (const [i, c] of clients.entries()) {
      const r = await swarmRun(c, tracker, work, bytes, n);
      all[i]!.push(r);
      everyRun.push(r);
    }
  }
  const med = (xs: number[]): number => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };
  return all.map((rs) => ({
    ...rs[0]!,
    endToEndS: med(rs.map((r) => r.endToEndS)),
    fromFirstByteS: med(rs.map((r) => r.fromFirstByteS)),
    seederCpuS: med(rs.map((r) => r.seederCpuS)),
    leecherCpuS: med(rs.map((r) => r.leecherCpuS)),
    seederSysS: med(rs.map((r) => r.seederSysS)),
    leecherSysS: med(rs.map((r) => r.leecherSysS)),
    leechersUploadedBytes: med(rs.map((r) => r.leechersUploadedBytes)),
  }));
}

let startupS = 0;
const net0 = (r: RunResult): number => r.leecherCpuS - startupS * procs(r);

// Only CLI processes pay the CLI start-up; the one-process leechers' own (a bundle too) stays counted.
const procs = (r: RunResult): number => (r.client === 'ccp-bt' || r.client === 'ccp-bt-capped' ? r.leechers : 0);
const mbps = (r: RunResult, s: number): number => (r.bytes * r.leechers) / 1e6 / s;

function report(title: string, ours: RunResult, ref: RunResult, extra?: RunResult): void {
  say(`\n== ${title}: ${(ours.bytes / 2 ** 20).toFixed(0)} MiB to ${ours.leechers} leecher(s), pieces of ${pieceLength / 1024} KiB${runs > 1 ? `, medians of ${runs} runs` : ''}`);
  const multi = ours.leechers > 1;
  say(`client       e2e MB/s  first-byte MB/s  time s  seeder CPU s (sys)  leecher CPU s (sys)  (minus startup)${multi ? "  leechers' uploads" : ''}`);
  for (const r of extra ? [ours, extra, ref] : [ours, ref]) {
    say(
      `${r.client.padEnd(12)} ${mbps(r, r.endToEndS).toFixed(1).padStart(8)}  ${mbps(r, r.fromFirstByteS).toFixed(1).padStart(15)}  ${r.endToEndS.toFixed(2).padStart(6)}  ` +
        `${r.seederCpuS.toFixed(2).padStart(12)} (${r.seederSysS.toFixed(2)})  ${r.leecherCpuS.toFixed(2).padStart(13)} (${r.leecherSysS.toFixed(2)})  ${net0(r).toFixed(2).padStart(15)}` +
        (multi ? `  ${((100 * r.leechersUploadedBytes) / (r.bytes * r.leechers)).toFixed(0).padStart(16)} %` : ''),
    );
  }
  const ratio = (a: number, b: number): string => (a / b).toFixed(2);
  say(
    `ratio ccp-bt/aria2: throughput ${ratio(mbps(ours, ours.endToEndS), mbps(ref, ref.endToEndS))} end to end, ` +
      `${ratio(mbps(ours, ours.fromFirstByteS), mbps(ref, ref.fromFirstByteS))} from first byte; ` +
      `CPU seeder ${ratio(ours.seederCpuS, ref.seederCpuS)}, leechers ${ratio(ours.leecherCpuS, ref.leecherCpuS)} ` +
      `(${ratio(net0(ours), net0(ref))} without ccp-bt's ${startupS.toFixed(2)} s CLI startup per process)`,
  );
  const swarm = (r: RunResult): number => r.seederCpuS + r.leecherCpuS;
  say(
    `the whole swarm (seeder + leechers): ccp-bt ${swarm(ours).toFixed(2)} s, aria2 ${swarm(ref).toFixed(2)} s of CPU: ${ratio(swarm(ours), swarm(ref))}` +
      (extra ? `; ccp-bt-1proc ${swarm(extra).toFixed(2)} s: ${ratio(swarm(extra), swarm(ref))}` : '') +
      (multi ? ` (leechers' uploads: the share of all bytes delivered that leechers sent each other, as they told the tracker)` : ''),
  );
  if (extra) {
    say(
      `ratio ccp-bt-1proc/aria2: throughput ${ratio(mbps(extra, extra.endToEndS), mbps(ref, ref.endToEndS))} end to end, ` +
        `${ratio(mbps(extra, extra.fromFirstByteS), mbps(ref, ref.fromFirstByteS))} from first byte; CPU leechers ${ratio(extra.leecherCpuS, ref.leecherCpuS)}`,
    );
  }
}

const work = join(tmpdir(), `ccpbt-bench-${process.pid}`);
mkdirSync(work, { recursive: true });
let inprocLeecher = '';
/** What each peer (by port) of each swarm (by info-hash) reported having uploaded, largest report kept. */
const uploadedBy = new Map<string, Map<number, number>>();
const tracker = await startTracker({
  host: '127.0.0.1', intervalS: 2,
  onAnnounce: (a) => {
    let swarm = uploadedBy.get(a.infoHashHex);
    if (!swarm) uploadedBy.set(a.infoHashHex, (swarm = new Map()));
    swarm.set(a.port, Math.max(swarm.get(a.port) ?? 0, a.uploaded));
  },
});
try {
  const bundle = await ensureCliBundle();
  if (bundle.failed) say('warning: the CLI bundle could not be built; ccp-bt runs from its sources (slower start-up)');
  startupS = await startupCpuS();
  if (only !== 'single' && leechers > 0) inprocLeecher = await bundleInprocLeecher(work);
  if (droppedCaCerts) say(`NODE_EXTRA_CA_CERTS is set here: children run without it (each Node start would parse that CA bundle; ccp-bt uses no TLS); --keep-env keeps it`);
  say(`load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')} (figures are only comparable on an idle machine)`);
  if (only !== 'multi') {
    const [ours, ref] = await medianRuns(['ccp-bt', 'aria2'], tracker, work, size, 1);
    report('one seeder → one leecher', ours!, ref!);
    scenarios.push({ name: `1 → 1, ${(size / 2 ** 20).toFixed(0)} MiB`, results: [ours!, ref!] });
    if (equalRate) {
      // aria2's steady rate: from its first byte on disk to the end.
      cappedBps = ref!.bytes / ref!.fromFirstByteS;
      const [capped] = await medianRuns(['ccp-bt-capped'], tracker, work, size, 1);
      scenarios.push({ name: `1 → 1 at aria2's speed`, results: [capped!, ref!] });
      say(
        `at the same speed: ccp-bt leecher capped at aria2's ${(cappedBps / 1e6).toFixed(1)} MB/s (--max-down) took ` +
          `${capped!.endToEndS.toFixed(2)} s and ${capped!.leecherCpuS.toFixed(2)} s CPU (${net0(capped!).toFixed(2)} without start-up): ` +
          `${(capped!.leecherCpuS / ref!.leecherCpuS).toFixed(2)}× aria2's leecher CPU (${(net0(capped!) / ref!.leecherCpuS).toFixed(2)}× without start-up); seeder ${(capped!.seederCpuS / ref!.seederCpuS).toFixed(2)}×`,
      );
    }
  }
  if (only !== 'single' && leechers > 0) {
    const [ours, oneProc, ref] = await medianRuns(['ccp-bt', 'ccp-bt-1proc', 'aria2'], tracker, work, multiSize, leechers);
    report(`one seeder → ${leechers} leechers (ccp-bt: a process each, and all in one process)`, ours!, ref!, oneProc);
    scenarios.push({ name: `1 → ${leechers}, ${(multiSize / 2 ** 20).toFixed(0)} MiB each`, results: [ours!, oneProc!, ref!] });
  }
  const panel = (title: string, value: (r: RunResult) => number, unit: string): Panel => ({
    title,
    groups: scenarios.map((sc) => ({ name: sc.name, bars: sc.results.map((r) => ({ series: r.client, value: value(r), label: `${value(r).toFixed(2)} ${unit}` })) })),
  });
  const dir = writeBenchReport('transfer', printedLines(), { runs, pieceLength, droppedCaCerts, startupS, scenarios, everyRun }, [
    panel('throughput, end to end (MB/s, more is better)', (r) => mbps(r, r.endToEndS), 'MB/s'),
    panel('leecher CPU, all leechers (s, less is better)', (r) => r.leecherCpuS, 's'),
    panel('seeder CPU (s, less is better)', (r) => r.seederCpuS, 's'),
    panel('the whole swarm, seeder + leechers (CPU s, less is better)', (r) => r.seederCpuS + r.leecherCpuS, 's'),
  ]);
  if (dir) console.log(`\nreport: ${dir}/ (table.txt, results.json, plot.svg)`);
} finally {
  killAll();
  await tracker.close();
  rmSync(work, { recursive: true, force: true });
}
