// `ccp-bt tracker`: run our small HTTP + UDP tracker until SIGINT/SIGTERM.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { startTracker } from '../../tracker/server.js';
import { formatBytes, parsePort } from '../../util/units.js';

interface TrackerFlags {
  host: string;
  port: string;
  udpPort: string;
  interval: string;
  peerTtl?: string;
  whitelist?: string;
  verbose?: boolean;
}

export function registerTracker(program: Command): void {
  program
    .command('tracker')
    .description('run a small HTTP + UDP BitTorrent tracker (BEP 3/23/15) for local swarms, until Ctrl-C')
    .option('--host <ip>', 'address to listen on (an IP literal)', '127.0.0.1')
    .option('-p, --port <n>', 'HTTP port (0 = any free port)', '0')
    .option('-u, --udp-port <n>', 'UDP port (0 = any free port)', '0')
    .option('-i, --interval <seconds>', 'announce interval told to clients', '60')
    .option('--peer-ttl <seconds>', 'forget peers not heard from for this long (default: 3 intervals)')
    .option('-w, --whitelist <file>', 'serve only the info-hashes listed in FILE (40 hex digits per line)')
    .option('-v, --verbose', 'print a line per announce')
    .action(async (flags: TrackerFlags) => {
      const intervalS = positiveNumber(flags.interval, '--interval');
      const peerTtlS = flags.peerTtl === undefined ? undefined : positiveNumber(flags.peerTtl, '--peer-ttl');
      const whitelist = flags.whitelist === undefined ? undefined : await readWhitelist(flags.whitelist);
      const tracker = await startTracker({
        host: flags.host,
        httpPort: parsePort(flags.port),
        udpPort: parsePort(flags.udpPort),
        intervalS,
        ...(peerTtlS !== undefined ? { peerTtlS } : {}),
        ...(whitelist ? { whitelist } : {}),
        ...(flags.verbose
          ? {
              onAnnounce: (a) => process.stdout.write(
                `${new Date().toISOString()} ${a.transport} ${a.infoHashHex} ${a.host}:${a.port} ${a.event || 'update'} left=${formatBytes(a.left)} up=${formatBytes(a.uploaded)} down=${formatBytes(a.downloaded)}\n`,
              ),
            }
          : {}),
      });
      process.stdout.write(`http: ${tracker.httpUrl}\nudp: ${tracker.udpUrl}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await tracker.close();
      process.stdout.write('tracker stopped\n');
    });
}

function positiveNumber(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 1) throw new Error(`invalid ${flag} '${text}': expected a number of seconds ≥ 1`);
  return n;
}

async function readWhitelist(path: string): Promise<Buffer[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read whitelist '${path}': ${(err as Error).message}`);
  }
  const hashes: Buffer[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith('#')) return;
    if (!/^[0-9a-fA-F]{40}$/.test(t)) throw new Error(`whitelist '${path}' line ${i + 1}: expected 40 hex digits`);
    hashes.push(Buffer.from(t, 'hex'));
  });
  return hashes;
}
