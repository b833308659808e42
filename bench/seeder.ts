// `npm run bench:seeder`: one seeding process with many small torrents, then many peers at once.
// The seeder is a child process running a Session the way `ccp-bt seed DIR` does (torrent files read
// 16 at a time, data checked in the session's bounded queue, first announces spread, one UDP tracker of
// ours); this process generates the torrents, runs the tracker and drives raw-socket peers (handshake,
// interested, 4 block requests in flight each). Printed for N torrents and, as the reference in the same
// run, for N/10: start-up to all-seeding, RSS and heap per torrent and per peer, event-loop lag p99 idle
// and under load, blocks served/s. Flags: --torrents N (5000), --peers P (300), --load-s S (10),
// --spacing MS (announce spacing, 2).
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createTorrent } from '../datapath/metainfo/create.js';
import { parseMetainfo } from '../datapath/metainfo/metainfo.js';
import { Session } from '../datapath/swarm/session.js';
import { encodeHandshake } from '../datapath/wire/handshake.js';
import { startTracker } from '../tracker/server.js';
import { createSay, writeBenchReport, type Panel } from './report.js';

const BLOCK = 16 * 1024;

interface SeederFigures {
  rssBytes: number;
  heapBytes: number;
  lagP99Ms: number;
  lagMaxMs: number;
  peers: number;
  uploadedBytes: number;
  startupMs?: number;
  torrents?: number;
  announceBacklogMs?: number;
}

type Command = { cmd: 'start'; seedDir: string; dataDir: string; spacingMs: number } | { cmd: 'mark' } | { cmd: 'stats' };

// ---------------------------------------------------------------- the seeder (child process)

async function seederRole(): Promise<void> {
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  let session: Session | null = null;
  const figures = (): SeederFigures => {
    let peers = 0;
    let up = 0;
    for (const t of session?.torrents.values() ?? []) {
      peers += t.peers.size;
      up += t.uploaded;
    }
    const m = process.memoryUsage();
    return { rssBytes: m.rss, heapBytes: m.heapUsed + m.external, lagP99Ms: lag.percentile(99) / 1e6, lagMaxMs: lag.max / 1e6, peers, uploadedBytes: up };
  };
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 3; i++) {
      (globalThis as { gc?: () => void }).gc?.();
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  process.on('message', (msg: Command) => {
    void (async () => {
      if (msg.cmd === 'start') {
        await settle();
        const before = figures();
        const t0 = performance.now();
        session = new Session({ host: '127.0.0.1', announceSpacingMs: msg.spacingMs });
        const port = await session.listen();
        const files = readdirSync(msg.seedDir).filter((n) => n.endsWith('.torrent')).sort();
        let next = 0;
        const reader = async (): Promise<void> => {
          while (next < files.length) {
            const meta = parseMetainfo(await readFile(join(msg.seedDir, files[next++]!)));
            await session!.addTorrent(meta, msg.dataDir, { seed: true });
          }
        };
        await Promise.all(Array.from({ length: 16 }, reader));
        const startupMs = performance.now() - t0;
        await settle();
        lag.reset();
        process.send!({ port, before, after: { ...figures(), startupMs, torrents: session.torrents.size, announceBacklogMs: session.announceBacklogMs() } });
      } else if (msg.cmd === 'mark') {
        // The lag of the window that ends here, then memory after a GC, then a new window.
        const { lagP99Ms, lagMaxMs } = figures();
        await settle();
        process.send!({ ...figures(), lagP99Ms, lagMaxMs });
        lag.reset();
      } else {
        process.send!(figures());
      }
    })();
  });
  process.on('disconnect', () => {
    void session?.close().finally(() => process.exit(0));
  });
}

// ---------------------------------------------------------------- the driver (this process)

class Seeder {
  private readonly replies: ((m: unknown) => void)[] = [];
  constructor(readonly child: ChildProcess) {
    child.on('message', (m) => this.replies.shift()?.(m));
  }
  ask<T>(c: Command): Promise<T> {
    return new Promise<T>((resolve) => {
      this.replies.push(resolve as (m: unknown) => void);
      this.child.send(c);
    });
  }
  stop(): void {
    if (this.child.pid !== undefined && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** A raw-socket leecher: handshake, interested, then 4 requests for random blocks in flight. */
class DriverPeer {
  blocks = 0;
  handshaken = false;
  private buf: Buffer = Buffer.alloc(0);
  private readonly socket: net.Socket;
  closed = false;

  constructor(port: number, private readonly infoHash: Buffer, private readonly pieces: number, private readonly lastLen: number, readonly pieceLen: number) {
    this.socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    this.socket.on('connect', () => {
      this.socket.write(Buffer.concat([encodeHandshake(infoHash, randomBytes(20), { extensions: false, fast: false }), msg(2)]));
    });
    this.socket.on('data', (d: Buffer) => this.onData(d));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => (this.closed = true));
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    if (!this.handshaken) {
      if (this.buf.length < 68) return;
      this.handshaken = true;
      this.buf = this.buf.subarray(68);
    }
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (this.buf.length < 4 + len) break;
      const id = len > 0 ? this.buf[4] : -1;
      this.buf = this.buf.subarray(4 + len);
      if (id === 1) for (let i = 0; i < 4; i++) this.request(); // unchoke
      else if (id === 7) {
        this.blocks++;
        this.request();
      }
    }
  }

  private request(): void {
    const piece = Math.floor(Math.random() * this.pieces);
    const len = piece === this.pieces - 1 ? this.lastLen : this.pieceLen;
    const begin = Math.floor(Math.random() * Math.ceil(len / BLOCK)) * BLOCK;
    const m = Buffer.alloc(17);
    m.writeUInt32BE(13, 0);
    m[4] = 6;
    m.writeUInt32BE(piece, 5);
    m.writeUInt32BE(begin, 9);
    m.writeUInt32BE(Math.min(BLOCK, len - begin), 13);
    this.socket.write(m);
  }

  close(): void {
    this.socket.destroy();
  }
}

function msg(id: number): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt32BE(1, 0);
  b[4] = id;
  return b;
}

interface TorrentInfo { infoHash: Buffer; pieces: number; lastLen: number; pieceLen: number }

async function makeTorrents(root: string, n: number, trackerUrl: string): Promise<{ seedDir: string; dataDir: string; infos: TorrentInfo[] }> {
  const seedDir = join(root, `seed-${n}`);
  const dataDir = join(root, `data-${n}`);
  mkdirSync(seedDir);
  mkdirSync(dataDir);
  const infos: TorrentInfo[] = [];
  for (let i = 0; i < n; i++) {
    const name = `t${String(i).padStart(6, '0')}.bin`;
    // 8–40 KiB: one to three 16 KiB pieces.
    writeFileSync(join(dataDir, name), randomBytes(8 * 1024 + ((i * 7919) % (32 * 1024))));
    const torrent = await createTorrent({ path: join(dataDir, name), trackers: [[trackerUrl]], pieceLength: BLOCK, creationDate: null });
    writeFileSync(join(seedDir, `${name}.torrent`), torrent);
    const meta = parseMetainfo(torrent);
    infos.push({ infoHash: meta.infoHash, pieces: meta.pieceCount, lastLen: meta.lastPieceLength, pieceLen: meta.pieceLength });
  }
  return { seedDir, dataDir, infos };
}

interface ScaleResult {
  torrents: number;
  peers: number;
  startupMs: number;
  rssPerTorrent: number;
  heapPerTorrent: number;
  rssPerPeer: number;
  heapPerPeer: number;
  lagIdleP99Ms: number;
  lagLoadP99Ms: number;
  lagLoadMaxMs: number;
  blocksPerS: number;
  driverLagP99Ms: number;
}

async function runScale(root: string, n: number, peers: number, loadS: number, spacingMs: number, trackerUrl: string): Promise<ScaleResult> {
  process.stderr.write(`-- ${n} torrents: generating…\n`);
  const { seedDir, dataDir, infos } = await makeTorrents(root, n, trackerUrl);
  const child = fork(import.meta.filename, ['--role', 'seeder'], { execArgv: ['--expose-gc', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const seeder = new Seeder(child);
  const drivers: DriverPeer[] = [];
  try {
    process.stderr.write(`-- ${n} torrents: seeder checking…\n`);
    const started = await seeder.ask<{ port: number; before: SeederFigures; after: SeederFigures }>({ cmd: 'start', seedDir, dataDir, spacingMs });
    const { port, before, after } = started;
    // Idle (announcing in the background) for 3 s: the 1 s tick over every torrent.
    await new Promise((r) => setTimeout(r, 3000));
    const idle = await seeder.ask<SeederFigures>({ cmd: 'mark' });
    process.stderr.write(`-- ${n} torrents: all seeding after ${(after.startupMs! / 1000).toFixed(1)} s; connecting ${peers} peers…\n`);
    for (let i = 0; i < peers; i++) {
      const t = infos[Math.floor(Math.random() * infos.length)]!;
      drivers.push(new DriverPeer(port, t.infoHash, t.pieces, t.lastLen, t.pieceLen));
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
    }
    const until = Date.now() + 10_000;
    while (Date.now() < until && drivers.filter((d) => d.handshaken).length < peers) await new Promise((r) => setTimeout(r, 50));
    const connected = await seeder.ask<SeederFigures>({ cmd: 'mark' }); // also resets the lag histogram
    const driverLag = monitorEventLoopDelay({ resolution: 5 });
    driverLag.enable();
    const b0 = drivers.reduce((s, d) => s + d.blocks, 0);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, loadS * 1000));
    const load = await seeder.ask<SeederFigures>({ cmd: 'stats' });
    const blocksPerS = ((drivers.reduce((s, d) => s + d.blocks, 0) - b0) * 1000) / (performance.now() - t0);
    driverLag.disable();
    const peersSeen = Math.max(1, connected.peers);
    return {
      torrents: after.torrents!,
      peers: connected.peers,
      startupMs: after.startupMs!,
      rssPerTorrent: (after.rssBytes - before.rssBytes) / n,
      heapPerTorrent: (after.heapBytes - before.heapBytes) / n,
      rssPerPeer: (connected.rssBytes - idle.rssBytes) / peersSeen,
      heapPerPeer: (connected.heapBytes - idle.heapBytes) / peersSeen,
      lagIdleP99Ms: idle.lagP99Ms,
      lagLoadP99Ms: load.lagP99Ms,
      lagLoadMaxMs: load.lagMaxMs,
      blocksPerS,
      driverLagP99Ms: driverLag.percentile(99) / 1e6,
    };
  } finally {
    for (const d of drivers) d.close();
    seeder.stop();
  }
}

/** N/10 torrents (the reference) against N: per-torrent costs should stay flat, lag and serving level. */
function seederPanels(ref: ScaleResult, big: ScaleResult): Panel[] {
  const both = [ref, big];
  const series = (r: ScaleResult): string => `${r.torrents} torrents`;
  const vs = (r: ScaleResult, a: number, b: number): string => (r === big && b > 0 ? ` (${(a / b).toFixed(2)}×)` : '');
  const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;
  return [
    {
      title: 'start-up to all seeding, per torrent (ms, less is better)',
      note: `the label adds the total and, for ${big.torrents}, the ratio to ${ref.torrents} (1.00 = flat per-torrent cost)`,
      groups: [
        {
          name: 'start-up per torrent',
          bars: both.map((r) => ({
            series: series(r),
            value: r.startupMs / r.torrents,
            label: `${(r.startupMs / r.torrents).toFixed(2)} ms, ${(r.startupMs / 1000).toFixed(2)} s in all${vs(r, r.startupMs / r.torrents, ref.startupMs / ref.torrents)}`,
          })),
        },
      ],
    },
    {
      title: 'memory per torrent (KiB, less is better)',
      groups: [
        { name: 'RSS per torrent', bars: both.map((r) => ({ series: series(r), value: r.rssPerTorrent / 1024, label: `${kib(r.rssPerTorrent)}${vs(r, r.rssPerTorrent, ref.rssPerTorrent)}` })) },
        { name: 'heap+external per torrent', bars: both.map((r) => ({ series: series(r), value: r.heapPerTorrent / 1024, label: `${kib(r.heapPerTorrent)}${vs(r, r.heapPerTorrent, ref.heapPerTorrent)}` })) },
      ],
    },
    {
      title: `memory per peer (KiB, ${big.peers} peers; RSS per peer is noisy)`,
      groups: [
        { name: 'RSS per peer', bars: both.map((r) => ({ series: series(r), value: r.rssPerPeer / 1024, label: kib(r.rssPerPeer) })) },
        { name: 'heap+external per peer', bars: both.map((r) => ({ series: series(r), value: r.heapPerPeer / 1024, label: kib(r.heapPerPeer) })) },
      ],
    },
    {
      title: 'seeder event-loop lag p99 (ms, less is better)',
      note: 'under load, the label adds the maximum',
      groups: [
        { name: 'idle (announcing)', bars: both.map((r) => ({ series: series(r), value: r.lagIdleP99Ms, label: `${r.lagIdleP99Ms.toFixed(1)} ms` })) },
        {
          name: 'under load',
          bars: both.map((r) => ({ series: series(r), value: r.lagLoadP99Ms, label: `${r.lagLoadP99Ms.toFixed(1)} ms (max ${r.lagLoadMaxMs.toFixed(0)})${vs(r, r.lagLoadP99Ms, ref.lagLoadP99Ms)}` })),
        },
      ],
    },
    {
      title: 'blocks served per second (more is better)',
      groups: [{ name: 'blocks/s served', bars: both.map((r) => ({ series: series(r), value: r.blocksPerS, label: `${Math.round(r.blocksPerS)}/s${vs(r, r.blocksPerS, ref.blocksPerS)}` })) }],
    },
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      torrents: { type: 'string', default: '5000' },
      peers: { type: 'string', default: '300' },
      'load-s': { type: 'string', default: '10' },
      spacing: { type: 'string', default: '2' },
      role: { type: 'string' },
    },
  });
  if (values.role === 'seeder') return seederRole();
  const n = Number(values.torrents);
  const peers = Number(values.peers);
  const loadS = Number(values['load-s']);
  const spacingMs = Number(values.spacing);
  if (![n, peers, loadS, spacingMs].every((x) => Number.isFinite(x) && x >= 0) || n < 10) throw new Error('bad flags: --torrents ≥ 10, --peers, --load-s, --spacing must be numbers');
  const root = mkdtempSync(join(tmpdir(), 'ccpbt-bench-seeder-'));
  const tracker = await startTracker({ intervalS: 1800 });
  try {
    const ref = await runScale(root, Math.round(n / 10), peers, loadS, spacingMs, tracker.udpUrl);
    const big = await runScale(root, n, peers, loadS, spacingMs, tracker.udpUrl);
    const kib = (b: number): string => (b / 1024).toFixed(1);
    const row = (r: ScaleResult): string =>
      `| ${r.torrents} | ${r.peers} | ${(r.startupMs / 1000).toFixed(2)} s (${(r.startupMs / r.torrents).toFixed(2)} ms/torrent) | ${kib(r.rssPerTorrent)} / ${kib(r.heapPerTorrent)} | ${kib(r.rssPerPeer)} / ${kib(r.heapPerPeer)} | ${r.lagIdleP99Ms.toFixed(1)} | ${r.lagLoadP99Ms.toFixed(1)} (max ${r.lagLoadMaxMs.toFixed(0)}) | ${Math.round(r.blocksPerS)} |`;
    // Everything printed is also kept for bench-out/seeder-<time>/table.txt.
    const { say, lines } = createSay();
    say(`\nseeder: ${n} vs ${Math.round(n / 10)} torrents (8-40 KiB each, one UDP tracker), ${peers} raw-socket peers, ${loadS} s of load`);
    say('| torrents | peers | start-up to all seeding | KiB/torrent RSS / heap | KiB/peer RSS / heap | lag p99 idle ms | lag p99 load ms | blocks/s served |');
    say('|---|---|---|---|---|---|---|---|');
    say(row(ref));
    say(row(big));
    const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : 'n/a');
    say(`\nratios (${n} / ${Math.round(n / 10)} torrents; 1.00 = flat per-torrent cost):`);
    say(`  start-up per torrent      ${ratio(big.startupMs / big.torrents, ref.startupMs / ref.torrents)}`);
    say(`  RSS per torrent           ${ratio(big.rssPerTorrent, ref.rssPerTorrent)}`);
    say(`  heap per torrent          ${ratio(big.heapPerTorrent, ref.heapPerTorrent)}`);
    say(`  lag p99 under load        ${ratio(big.lagLoadP99Ms, ref.lagLoadP99Ms)}`);
    say(`  blocks/s served           ${ratio(big.blocksPerS, ref.blocksPerS)}`);
    say(`(driver's own lag p99: ${ref.driverLagP99Ms.toFixed(1)} / ${big.driverLagP99Ms.toFixed(1)} ms; a loaded driver under-drives the seeder)`);
    const dir = writeBenchReport('seeder', lines(), { torrents: n, peers, loadS, spacingMs, results: [ref, big] }, seederPanels(ref, big));
    if (dir) console.log(`\nreport: ${dir}/ (table.txt, results.json, plot.svg)`);
  } finally {
    await tracker.close();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:seeder: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
