// `ccp-bt download FILE.torrent`: download one torrent (then exit 0, or keep seeding with --seed).
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { readMetainfo } from '../../datapath/metainfo/metainfo.js';
import { Session } from '../../datapath/swarm/session.js';
import type { Torrent } from '../../datapath/swarm/torrent.js';
import type { PeerAddress } from '../../datapath/tracker/announcer.js';
import { addControlOptions, startControl, type ControlOptions } from '../control-options.js';
import { createProgressReporter, chooseProgressMode, type ProgressReporter } from '../progress.js';
import { formatBytes, parseHostPort, parsePort, parseRate } from '../../util/units.js';
import { showWarnings } from '../warning-throttle.js';

interface DownloadFlags extends ControlOptions {
  output: string;
  seed?: boolean;
  maxUp?: string;
  maxDown?: string;
  port?: string;
  host: string;
  peer: string[];
  json?: boolean;
  announce: boolean;
  verbose?: boolean;
}

const DEFAULT_PORT = 6881;

const collect = (v: string, acc: string[]): string[] => [...acc, v];

export function registerDownload(program: Command): void {
  const cmd = program
    .command('download')
    .description('download a torrent (exits 0 when complete; --seed keeps seeding)')
    .argument('<torrent>', '.torrent file')
    .option('-o, --output <dir>', 'folder to download into', '.')
    .option('--seed', 'keep seeding after the download completes (until SIGINT/SIGTERM)')
    .option('--max-up <rate>', 'global upload cap, bytes/s with units (50k, 2M); 0 = none')
    .option('--max-down <rate>', 'global download cap, bytes/s with units; 0 = none')
    .option('--port <n>', 'port to accept peers on (default 6881, or any free port if taken)')
    .option('--host <addr>', 'address to listen on', '0.0.0.0')
    .option('--peer <host:port>', 'a peer to dial (repeatable), with or without trackers', collect, [])
    .option('--no-announce', 'do not contact the trackers named in the torrent')
    .option('--json', 'JSON lines on stdout instead of a progress bar')
    .option('-v, --verbose', 'log peer events on stderr');
  addControlOptions(cmd);
  cmd.action(async (file: string, flags: DownloadFlags) => {
    const maxUpBps = flags.maxUp ? parseRate(flags.maxUp) : 0;
    const maxDownBps = flags.maxDown ? parseRate(flags.maxDown) : 0;
    const peers: PeerAddress[] = flags.peer.map(parseHostPort);
    const port = flags.port === undefined ? undefined : parsePort(flags.port);
    const meta = await readMetainfo(file);
    const reporter = await createProgressReporter(chooseProgressMode(flags.json === true));
    const log = flags.verbose ? (m: string): void => void process.stderr.write(`ccp-bt: ${m}\n`) : undefined;
    const session = new Session({ host: flags.host, maxUpBps, maxDownBps, ...(log ? { log } : {}) });
    // Until the download runs, a failure must close the session too (its timer and socket keep the process alive).
    let torrent: Torrent;
    let detach: () => Promise<void>;
    try {
      await listenWithFallback(session, flags.host, port, reporter);
      torrent = await session.addTorrent(meta, resolve(flags.output), { peers, announce: flags.announce, seed: flags.seed === true });
      detach = await startControl(session, flags, 'download');
    } catch (err) {
      await session.close();
      throw err;
    }
    reporter.message('started', `${meta.name}: ${formatBytes(torrent.progress().haveBytes)} of ${formatBytes(meta.totalBytes)} present, listening on port ${session.port}`, {
      name: meta.name, infoHash: meta.infoHashHex, port: session.port, haveBytes: torrent.progress().haveBytes, totalBytes: meta.totalBytes,
    });
    let finishing = false;
    const finish = async (code: number, why: string): Promise<void> => {
      if (finishing) return;
      finishing = true;
      reporter.update(torrent.progress(), true);
      if (code === 1 && reporter.mode === 'lines') {
        // A failure goes where scripts look for one; --json carries it in the 'stopped' event.
        process.stderr.write(`ccp-bt: ${meta.name}: ${why}\n`);
      } else {
        reporter.message('stopped', `${meta.name}: ${why}`, { reason: why });
      }
      reporter.stop();
      await detach().catch(() => undefined);
      await session.close();
      process.exit(code);
    };
    showWarnings(session, reporter, flags.verbose === true || flags.json === true);
    const done = (): void => {
      const p = torrent.progress();
      reporter.update(p, true);
      reporter.message('complete', `${meta.name}: complete, ${formatBytes(p.totalBytes)} (downloaded ${formatBytes(p.downloadedBytes)}, uploaded ${formatBytes(p.uploadedBytes)})`, {
        downloadedBytes: p.downloadedBytes, uploadedBytes: p.uploadedBytes,
      });
      if (!flags.seed) void finish(0, 'done');
    };
    torrent.on('tick', (p) => reporter.update(p));
    // A piece that cannot be written ends the download (exit 1, saying why): what is verified stays on
    // disk, and a later run resumes from it once the cause is fixed.
    torrent.once('storage-error', (why: string) => void finish(1, `${why}; download stopped`));
    if (torrent.complete) done();
    else torrent.once('complete', done);
    onShutdownSignals((sig) => void finish(torrent.complete ? 0 : sig === 'SIGINT' ? 130 : 143, `stopped by ${sig}`));
  });
}

// Shared with `seed`: listening with a port fallback, and clean shutdown on signals.

export async function listenWithFallback(session: Session, host: string, port: number | undefined, reporter: ProgressReporter): Promise<void> {
  try {
    await session.listen(port ?? DEFAULT_PORT, host);
  } catch (err) {
    if (port !== undefined) throw new Error(`cannot listen on ${host}:${port}: ${err instanceof Error ? err.message : String(err)}`);
    await session.listen(0, host);
    reporter.message('warning', `port ${DEFAULT_PORT} is taken; listening on ${session.port}`);
  }
}

/** Runs `handler` once on the first SIGINT or SIGTERM; a second signal exits at once. */
export function onShutdownSignals(handler: (signal: 'SIGINT' | 'SIGTERM') => void | Promise<void>): void {
  let called = false;
  const on = (sig: 'SIGINT' | 'SIGTERM'): void => {
    if (called) process.exit(sig === 'SIGINT' ? 130 : 143);
    called = true;
    void Promise.resolve(handler(sig)).catch((err: unknown) => {
      process.stderr.write(`ccp-bt: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
  };
  process.on('SIGINT', () => on('SIGINT'));
  process.on('SIGTERM', () => on('SIGTERM'));
}
