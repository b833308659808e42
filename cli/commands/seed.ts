// `ccp-bt seed FILE.torrent|DIR…`: seed many torrents from one process until SIGINT/SIGTERM.
import type { Command } from 'commander';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readMetainfo } from '../../datapath/metainfo/metainfo.js';
import { Session } from '../../datapath/swarm/session.js';
import type { Torrent } from '../../datapath/swarm/torrent.js';
import type { PeerAddress } from '../../datapath/tracker/announcer.js';
import { addControlOptions, startControl, type ControlOptions } from '../control-options.js';
import { ProgressReporter, chooseProgressMode } from '../progress.js';
import { formatBytes, parseHostPort, parsePort, parseRate } from '../../util/units.js';
import { listenWithFallback, onShutdownSignals } from './download.js';
import { showWarnings } from '../warning-throttle.js';

interface SeedFlags extends ControlOptions {
  data: string;
  maxUp?: string;
  port?: string;
  host: string;
  peer: string[];
  json?: boolean;
  announce: boolean;
  verbose?: boolean;
  checks: string;
  announceSpacing: string;
}

/** Torrent files read (and handed to the session's check queue) at the same time. */
const READERS = 16;
/** With more torrents than this, plain-line mode prints per-torrent lines only for partial data (or with -v). */
const QUIET_ABOVE = 50;

const collect = (v: string, acc: string[]): string[] => [...acc, v];

/** Every .torrent named, and every .torrent directly inside a named folder. */
async function torrentFiles(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => null);
    if (!st) throw new Error(`${p}: no such file or folder`);
    if (st.isDirectory()) {
      const names = (await readdir(p)).filter((n) => n.endsWith('.torrent')).sort();
      out.push(...names.map((n) => join(p, n)));
    } else {
      out.push(p);
    }
  }
  return out;
}

export function registerSeed(program: Command): void {
  const cmd = program
    .command('seed')
    .description('seed one or many torrents until SIGINT/SIGTERM (a folder means every .torrent in it)')
    .argument('<torrents...>', '.torrent files or folders of them')
    .option('-d, --data <dir>', 'folder holding the torrents\' data', '.')
    .option('--max-up <rate>', 'global upload cap, bytes/s with units (50k, 2M); 0 = none')
    .option('--port <n>', 'port to accept peers on (default 6881, or any free port if taken)')
    .option('--host <addr>', 'address to listen on', '0.0.0.0')
    .option('--peer <host:port>', 'a peer to dial for every torrent (repeatable)', collect, [])
    .option('--no-announce', 'do not contact the trackers named in the torrents')
    .option('--json', 'JSON lines on stdout')
    .option('--checks <n>', 'torrents whose data is checked at the same time', '4')
    .option('--announce-spacing <ms>', 'first announces: one torrent per this many ms (spreads N torrents over N × ms); 0 = all at once', '10')
    .option('-v, --verbose', 'log peer events on stderr');
  addControlOptions(cmd);
  cmd.action(async (paths: string[], flags: SeedFlags) => {
    const maxUpBps = flags.maxUp ? parseRate(flags.maxUp) : 0;
    const peers: PeerAddress[] = flags.peer.map(parseHostPort);
    const port = flags.port === undefined ? undefined : parsePort(flags.port);
    const files = await torrentFiles(paths);
    if (files.length === 0) throw new Error('no .torrent files found');
    const reporter = new ProgressReporter(chooseProgressMode(flags.json === true) === 'json' ? 'json' : 'lines', 10_000);
    const log = flags.verbose ? (m: string): void => void process.stderr.write(`ccp-bt: ${m}\n`) : undefined;
    const checkConcurrency = positiveInt(flags.checks, '--checks');
    const announceSpacingMs = Number(flags.announceSpacing);
    if (!Number.isFinite(announceSpacingMs) || announceSpacingMs < 0) throw new Error(`--announce-spacing must be a number of ms ≥ 0, got '${flags.announceSpacing}'`);
    const session = new Session({ host: flags.host, maxUpBps, checkConcurrency, announceSpacingMs, ...(log ? { log } : {}) });
    await listenWithFallback(session, flags.host, port, reporter).catch(async (err: unknown) => {
      await session.close();
      throw err;
    });
    // The control plane first: torrents serve (and open flows) as soon as their own check is done.
    const detach = await startControl(session, flags, 'seed').catch(async (err: unknown) => {
      await session.close();
      throw err;
    });
    let summary: NodeJS.Timeout | undefined;
    let stopping = false;
    onShutdownSignals(async (sig) => {
      stopping = true; // also during start-up: the torrents not yet checked are dropped
      clearInterval(summary);
      reporter.message('stopped', `stopping (${sig}): telling trackers`, { signal: sig });
      await detach().catch(() => undefined);
      await session.close();
      process.exit(0);
    });
    const dataDir = resolve(flags.data);
    const torrents: Torrent[] = [];
    const total = files.length;
    let settled = 0;
    let lastProgressMs = 0;
    const startedMs = Date.now();
    const progress = (force: boolean): void => {
      const now = Date.now();
      if (!force && now - lastProgressMs < 1000) return;
      lastProgressMs = now;
      process.stderr.write(`ccp-bt: checked ${settled} of ${total} torrent(s), ${torrents.length} seeding (${((now - startedMs) / 1000).toFixed(1)} s)\n`);
    };
    if (total > 1) process.stderr.write(`ccp-bt: listening on port ${session.port}; checking ${total} torrent(s), ${checkConcurrency} at a time\n`);
    const progressTimer = setInterval(() => progress(false), 1000);
    const perTorrentLines = flags.json === true || flags.verbose === true || total <= QUIET_ABOVE;
    const addOne = async (f: string): Promise<void> => {
      try {
        const meta = await readMetainfo(f);
        const t = await session.addTorrent(meta, dataDir, { peers, announce: flags.announce, seed: true });
        torrents.push(t);
        const p = t.progress();
        if (perTorrentLines || !p.complete) {
          reporter.message('added', `${meta.name}: ${p.complete ? 'complete' : `${((100 * p.haveBytes) / Math.max(1, p.totalBytes)).toFixed(1)}% present`}, seeding`, {
            name: meta.name, infoHash: meta.infoHashHex, complete: p.complete, haveBytes: p.haveBytes,
          });
        }
      } catch (err) {
        // One bad torrent must not stop the others.
        const msg = err instanceof Error ? err.message : String(err);
        reporter.message('error', msg.startsWith(f) ? msg : `${f}: ${msg}`, { file: f });
      } finally {
        settled++;
      }
    };
    let next = 0;
    const reader = async (): Promise<void> => {
      while (next < files.length && !stopping) await addOne(files[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(READERS, files.length) }, reader));
    clearInterval(progressTimer);
    if (stopping) return;
    if (total > 1) progress(true);
    if (torrents.length === 0) {
      await detach().catch(() => undefined);
      await session.close();
      throw new Error('no torrent could be added');
    }
    reporter.message('listening', `seeding ${torrents.length} torrent(s) on port ${session.port}`, {
      port: session.port, torrents: torrents.length, startupMs: Date.now() - startedMs,
    });
    showWarnings(session, reporter, flags.verbose === true || flags.json === true);
    summary = setInterval(() => {
      let up = 0;
      let rate = 0;
      let peersN = 0;
      for (const t of torrents) {
        const p = t.progress();
        up += p.uploadedBytes;
        rate += p.rateOutBps;
        peersN += p.peers;
      }
      reporter.message('status', `${torrents.length} torrent(s), ${peersN} peer(s), up ${formatBytes(rate)}/s, uploaded ${formatBytes(up)}`, {
        torrents: torrents.length, peers: peersN, rateOutBps: Math.round(rate), uploadedBytes: up,
      });
    }, 10_000);
  });
}

function positiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive integer, got '${text}'`);
  return n;
}
