// `ccp-bt create PATH --tracker URL … -o FILE`: make a .torrent from a file or folder.
import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { createTorrent } from '../../datapath/metainfo/create.js';
import { parseMetainfo } from '../../datapath/metainfo/metainfo.js';
import { formatBytes, parseBytes } from '../../util/units.js';

interface CreateFlags {
  tracker: string[];
  pieceLength?: string;
  name?: string;
  comment?: string;
  private?: boolean;
  date: boolean;
  output: string;
  force?: boolean;
}

export function registerCreate(program: Command): void {
  program
    .command('create')
    .description('make a .torrent file from a file or a folder (files sorted by path, like mktorrent)')
    .argument('<path>', 'file or folder to share')
    .option('-t, --tracker <url>', 'tracker announce URL; repeat for backup tiers, comma-separate URLs of one tier', collect, [])
    .option('-l, --piece-length <size>', 'piece length, a power of two from 16Ki to 64Mi (default: automatic, ~1000-2000 pieces)')
    .option('-n, --name <name>', 'torrent name (default: the file or folder name)')
    .option('-c, --comment <text>', 'comment stored in the torrent')
    .option('-p, --private', 'set the private flag (BEP 27: trackers only, no DHT/PEX)')
    .option('--no-date', 'leave out the creation date (byte-identical output for identical input)')
    .requiredOption('-o, --output <file>', 'where to write the .torrent')
    .option('-f, --force', 'overwrite the output file if it exists')
    .action(async (path: string, flags: CreateFlags) => {
      const pieceLength = flags.pieceLength === undefined ? undefined : parsePieceLength(flags.pieceLength);
      const trackers = flags.tracker.map((t) => t.split(',').map((u) => u.trim()).filter((u) => u.length > 0));
      const bar = process.stderr.isTTY
        ? new cliProgress.SingleBar(
            { stream: process.stderr, format: 'hashing [{bar}] {percentage}% | {done} of {size}', hideCursor: true, clearOnComplete: true },
            cliProgress.Presets.shades_classic,
          )
        : null;
      let started = false;
      const torrent = await createTorrent({
        path,
        trackers,
        ...(pieceLength !== undefined ? { pieceLength } : {}),
        ...(flags.name !== undefined ? { name: flags.name } : {}),
        ...(flags.comment !== undefined ? { comment: flags.comment } : {}),
        private: flags.private === true,
        ...(flags.date ? {} : { creationDate: null }),
        onProgress: (hashed, total) => {
          if (!bar) return;
          if (!started) {
            started = true;
            bar.start(total, 0, { done: formatBytes(0), size: formatBytes(total) });
          }
          bar.update(hashed, { done: formatBytes(hashed) });
        },
      }).finally(() => bar?.stop());
      try {
        await writeFile(flags.output, torrent, { flag: flags.force ? 'w' : 'wx' });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new Error(`${flags.output} exists (use --force to overwrite)`);
        throw new Error(`cannot write ${flags.output}: ${code ?? String(err)}`);
      }
      const meta = parseMetainfo(torrent);
      process.stdout.write(
        `${flags.output}: ${meta.name}, ${meta.files.length} file(s), ${formatBytes(meta.totalBytes)}, ` +
          `${meta.pieceCount} pieces of ${meta.pieceLength} bytes\ninfo hash ${meta.infoHashHex}\n`,
      );
      if (meta.announce.length === 0) process.stderr.write('note: no --tracker given; peers must find each other by other means\n');
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Sizes in units (16Ki, 1Mi, 262144); a decimal unit that misses a power of two gets a hint. */
function parsePieceLength(text: string): number {
  const n = parseBytes(text, 'piece length');
  if (n > 0 && (n & (n - 1)) === 0) return n;
  const m = /^\s*(\d+)\s*([kKmM])B?\s*$/.exec(text);
  if (m) {
    const binary = Number(m[1]) * (m[2]!.toLowerCase() === 'k' ? 1024 : 1024 * 1024);
    if ((binary & (binary - 1)) === 0) {
      throw new Error(`piece length '${text}' is ${n} bytes, not a power of two (k and M are powers of 1000; did you mean ${m[1]}${m[2]!.toUpperCase()}i = ${binary}?)`);
    }
  }
  throw new Error(`piece length '${text}' (${n} bytes) is not a power of two`);
}
