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
import { formatBytes, parseHostPort, parsePort, parseRate } from '../units.js';
import { listenWithFallback, onShutdownSignals } from './download.js';

interface SeedFlags extends ControlOptions {
  data: string;
  maxUp?: string;
  port?: string;
  host: string;
  peer: string[];
  json?: boolean;
  announce: boolean;
  verbose?: boolean;
}

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
    const session = new Session({ host: flags.host, maxUpBps, ...(log ? { log } : {}) });
    await listenWithFallback(session, flags.host, port, reporter).catch(async (err: unknown) => {
      await session.close();
      throw err;
    });
    const dataDir = resolve(flags.data);
    const torrents: Torrent[] = [];
    for (const f of files) {
      try {
        const meta = await readMetainfo(f);
        const t = await session.addTorrent(meta, dataDir, { peers, announce: flags.announce, seed: true });
        torrents.push(t);
        const p = t.progress();
        reporter.message('added', `${meta.name}: ${p.complete ? 'complete' : `${((100 * p.haveBytes) / Math.max(1, p.totalBytes)).toFixed(1)}% present`}, seeding`, {
          name: meta.name, infoHash: meta.infoHashHex, complete: p.complete, haveBytes: p.haveBytes,
        });
      } catch (err) {
        // One bad torrent must not stop the others.
        const msg = err instanceof Error ? err.message : String(err);
        reporter.message('error', msg.startsWith(f) ? msg : `${f}: ${msg}`, { file: f });
      }
    }
    if (torrents.length === 0) {
      await session.close();
      throw new Error('no torrent could be added');
    }
    const detach = await startControl(session, flags, 'seed').catch(async (err: unknown) => {
      await session.close();
      throw err;
    });
    reporter.message('listening', `seeding ${torrents.length} torrent(s) on port ${session.port}`, { port: session.port, torrents: torrents.length });
    session.on('warning', (m: string) => {
      if (flags.verbose || flags.json) reporter.message('warning', m);
    });
    const summary = setInterval(() => {
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
    onShutdownSignals(async (sig) => {
      clearInterval(summary);
      reporter.message('stopped', `stopping (${sig}): telling trackers`, { signal: sig });
      await detach().catch(() => undefined);
      await session.close();
      process.exit(0);
    });
  });
}
