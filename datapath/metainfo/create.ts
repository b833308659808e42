// Making .torrent files from a file or a folder, deterministically: files sorted by path bytes (as mktorrent
// does) and the same info dictionary mktorrent writes, so the same content and piece length give the same
// info-hash in both tools.
import { createHash } from 'node:crypto';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { encodeBencode, type BencodeInput } from '../bencode.js';
import { MetainfoError } from './metainfo.js';
import { printable, unsafeComponentReason } from './safe-path.js';

export interface CreateTorrentOptions {
  path: string;
  /** Tiers of tracker URLs (BEP 12), or a flat list where each URL is its own tier. */
  trackers: string[][] | string[];
  /** Bytes, a power of two; chosen automatically when absent. */
  pieceLength?: number;
  name?: string;
  comment?: string;
  private?: boolean;
  /** Written as 'created by'; defaults to "ccp-bt". */
  createdBy?: string;
  /** Seconds since the epoch for 'creation date'; null leaves it out. Defaults to now. */
  creationDate?: number | null;
  onProgress?: (hashedBytes: number, totalBytes: number) => void;
}

export const MIN_CREATE_PIECE_LENGTH = 16 * 1024;
export const MAX_AUTO_PIECE_LENGTH = 16 * 1024 * 1024;
export const MAX_CREATE_PIECE_LENGTH = 64 * 1024 * 1024;

/** A power of two from 16 KiB to 16 MiB giving at most ~2000 pieces (and over 1000 unless clamped). */
export function autoPieceLength(totalBytes: number): number {
  let pieceLength = MIN_CREATE_PIECE_LENGTH;
  while (totalBytes / pieceLength > 2000 && pieceLength < MAX_AUTO_PIECE_LENGTH) pieceLength *= 2;
  return pieceLength;
}

interface SourceFile {
  absPath: string;
  components: string[];
  length: number;
}

/** Builds the bencoded .torrent for `opts.path`. Throws MetainfoError naming the problem. */
export async function createTorrent(opts: CreateTorrentOptions): Promise<Buffer> {
  const root = resolve(opts.path);
  let rootStat;
  try {
    rootStat = await stat(root);
  } catch (err) {
    throw new MetainfoError(`cannot read ${opts.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const name = opts.name ?? basename(root);
  const nameProblem = unsafeComponentReason(name);
  if (nameProblem) throw new MetainfoError(`unusable torrent name '${printable(name)}': ${nameProblem}`);

  let files: SourceFile[];
  if (rootStat.isFile()) files = [{ absPath: root, components: [name], length: rootStat.size }];
  else if (rootStat.isDirectory()) files = await listFolder(root);
  else throw new MetainfoError(`${opts.path} is neither a file nor a folder`);
  const totalBytes = files.reduce((n, f) => n + f.length, 0);
  if (totalBytes === 0) throw new MetainfoError(`${opts.path} holds no data (0 bytes)`);

  const pieceLength = opts.pieceLength ?? autoPieceLength(totalBytes);
  checkPieceLength(pieceLength);
  const pieces = await hashPieces(files, pieceLength, totalBytes, opts.onProgress);

  const info: { [key: string]: BencodeInput } = {
    name,
    'piece length': pieceLength,
    pieces,
  };
  if (rootStat.isFile()) info['length'] = totalBytes;
  else info['files'] = files.map((f) => ({ length: f.length, path: f.components }));
  if (opts.private) info['private'] = 1;

  const tiers = normaliseTrackers(opts.trackers);
  const torrent: { [key: string]: BencodeInput } = { info };
  if (tiers.length > 0) torrent['announce'] = tiers[0]![0]!;
  if (tiers.flat().length > 1) torrent['announce-list'] = tiers;
  if (opts.comment !== undefined && opts.comment.length > 0) torrent['comment'] = opts.comment;
  torrent['created by'] = opts.createdBy ?? 'ccp-bt';
  const date = opts.creationDate === undefined ? Math.floor(Date.now() / 1000) : opts.creationDate;
  if (date !== null) torrent['creation date'] = date;
  return encodeBencode(torrent);
}

function checkPieceLength(pieceLength: number): void {
  const pow2 = Number.isInteger(pieceLength) && pieceLength > 0 && (pieceLength & (pieceLength - 1)) === 0;
  if (!pow2 || pieceLength < MIN_CREATE_PIECE_LENGTH || pieceLength > MAX_CREATE_PIECE_LENGTH) {
    throw new MetainfoError(
      `piece length ${pieceLength} must be a power of two from ${MIN_CREATE_PIECE_LENGTH} (16 KiB) to ${MAX_CREATE_PIECE_LENGTH} (64 MiB)`,
    );
  }
}

function normaliseTrackers(trackers: string[][] | string[]): string[][] {
  const tiers = trackers.map((t) => (Array.isArray(t) ? t : [t]));
  const out: string[][] = [];
  for (const tier of tiers) {
    const urls = tier.map((u) => u.trim()).filter((u) => u.length > 0);
    for (const url of urls) {
      if (!/^(https?|udp|wss?):\/\/[^\s]+$/i.test(url)) throw new MetainfoError(`tracker '${printable(url)}' is not an http(s):// or udp:// URL`);
    }
    if (urls.length > 0) out.push(urls);
  }
  return out;
}

/** Every regular file under `root` (symlinks followed, loops skipped), sorted by path bytes like mktorrent. */
async function listFolder(root: string): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  const seenDirs = new Set<string>();
  const walk = async (dir: string, prefix: string[]): Promise<void> => {
    const real = await realpath(dir);
    if (seenDirs.has(real)) return; // a symlink loop
    seenDirs.add(real);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      throw new MetainfoError(`cannot list ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    for (const entry of names) {
      const abs = join(dir, entry);
      let st;
      try {
        st = await stat(abs);
      } catch {
        continue; // dangling symlink
      }
      if (st.isDirectory()) await walk(abs, [...prefix, entry]);
      else if (st.isFile()) out.push({ absPath: abs, components: [...prefix, entry], length: st.size });
    }
  };
  await walk(root, []);
  if (out.length === 0) throw new MetainfoError(`${root} holds no files`);
  const key = (f: SourceFile): Buffer => Buffer.from(f.components.join('/'), 'utf8');
  out.sort((a, b) => Buffer.compare(key(a), key(b)));
  return out;
}

/** SHA-1 of every piece, reading the files in order as one stream of bytes. */
async function hashPieces(
  files: SourceFile[],
  pieceLength: number,
  totalBytes: number,
  onProgress?: (hashedBytes: number, totalBytes: number) => void,
): Promise<Buffer> {
  const pieceCount = Math.ceil(totalBytes / pieceLength);
  const hashes = Buffer.alloc(pieceCount * 20);
  const piece = Buffer.allocUnsafe(pieceLength);
  let fill = 0;
  let hashed = 0;
  let index = 0;
  const finishPiece = (): void => {
    createHash('sha1').update(piece.subarray(0, fill)).digest().copy(hashes, index * 20);
    hashed += fill;
    index++;
    fill = 0;
    onProgress?.(hashed, totalBytes);
  };
  for (const file of files) {
    if (file.length === 0) continue;
    const handle = await open(file.absPath, 'r').catch((err: NodeJS.ErrnoException) => {
      throw new MetainfoError(`cannot read ${file.absPath}: ${err.code ?? String(err)}`);
    });
    try {
      let pos = 0;
      while (pos < file.length) {
        const want = Math.min(pieceLength - fill, file.length - pos);
        const { bytesRead } = await handle.read(piece, fill, want, pos);
        if (bytesRead === 0) throw new MetainfoError(`${file.absPath} shrank while it was being hashed`);
        fill += bytesRead;
        pos += bytesRead;
        if (fill === pieceLength) finishPiece();
      }
    } finally {
      await handle.close();
    }
  }
  if (fill > 0) finishPiece();
  if (index !== pieceCount) throw new MetainfoError('files changed size while they were being hashed');
  return hashes;
}
